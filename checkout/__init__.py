"""Checkout: baskets, pricing, orders split per vendor, and the order status machine."""
