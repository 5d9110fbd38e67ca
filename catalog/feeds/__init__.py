"""Catalog feeds: other platforms' catalogs read into neutral items (DFC JSON-LD, schema.org JSON-LD, CSV), and ours
written out in the same open formats."""
