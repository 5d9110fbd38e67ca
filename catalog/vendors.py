"""Vendors as shoppers name them: "les abeilles", "Abeilles du Salève" or "abeilles-du-saleve"."""

from __future__ import annotations

from sqlalchemy import select

from catalog.text import fold
from marketplace.accounts import Organisation
from marketplace.db import UnitOfWork


def find_vendor_slug(uow: UnitOfWork, text: str | None) -> str | None:
    """The slug of the first organisation (by id) whose name contains `text`, folded, or whose slug contains
    it with dashes for spaces; None when nothing matches."""
    wanted = fold(text or "").strip()
    if not wanted:
        return None
    for slug, name in uow.session.execute(select(Organisation.slug, Organisation.name).order_by(Organisation.id)):
        if wanted in fold(name) or wanted.replace(" ", "-") in slug:
            return slug
    return None
