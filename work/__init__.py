"""People at work, whatever entry point they use (a chat command, a sentence, the admin CLI).

`vendors.py`: what a vendor member does with their own products and orders; `couriers.py`: a courier's
report that an order was delivered (and paid). These use cases span the catalog, checkout and payments,
so they live above all three. The day's runs themselves are computed in `checkout/runs.py`.
"""
