"""Reading the shop's state back from the database, for end-to-end tests that assert outcomes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from catalog.models import Product
from checkout.models import Basket, BasketLine
from marketplace.accounts import ChatIdentity
from marketplace.db import Database


def basket_lines(db: Database, external_id: str) -> list[tuple[str, Decimal]]:
    """(SKU, quantity) of each line in the basket of the person with that chat id, in the order added."""
    query = (
        select(Product.sku, BasketLine.quantity)
        .join(BasketLine.product)
        .join(BasketLine.basket)
        .join(ChatIdentity, ChatIdentity.person_id == Basket.person_id)
        .where(ChatIdentity.external_id == external_id)
        .order_by(BasketLine.id)
    )
    with db.uow() as uow:
        return [(sku, quantity) for sku, quantity in uow.session.execute(query)]
