"""The catalog: products (goods and services) of many vendors, their taxonomy, search and imports."""
