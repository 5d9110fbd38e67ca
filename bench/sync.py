"""Catalog sync benchmark: a 5 000-item DFC feed read, compared and applied, then synced again (a no-op), then
with a tenth of its prices changed and a few items withdrawn.

    .venv/bin/python -m bench.sync [--items 5000]

The feed is our own DFC export (catalog/feeds/dfc.py) of a synthetic catalog, registered as another vendor's
source in a temporary SQLite database. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from catalog.feeds.dfc import export_dfc, parse_dfc
from catalog.models import Product
from catalog.services import ProductDraft, bump_revision, upsert_product
from catalog.sources import add_source
from catalog.sync import SyncOptions, apply_plan, plan_sync
from marketplace import migrate
from marketplace.accounts import OrganisationKind, add_organisation
from marketplace.db import Database

NOUNS = [("Pommes", "fruit", "kg"), ("Carottes", "vegetables", "kg"), ("Tomme", "cheese", "piece"),
         ("Miel", "honey", "500 g"), ("Pain", "bakery", "piece"), ("Jus", "drinks", "75 cl")]  # fmt: skip


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000


def feed_bytes(db: Database, bump_every: int = 0, drop_every: int = 0) -> bytes:
    """The DFC export of the synthetic products of vendor `origine` (prices of every `bump_every`th raised,
    every `drop_every`th left out)."""
    with db.uow() as uow:
        if bump_every:
            for product in uow.session.query(Product).filter(Product.id % bump_every == 0):
                product.price_chf += Decimal("0.10")
            uow.session.flush()
        products = [
            p for p in uow.session.query(Product).filter(Product.source == "bench-origin")
            if not drop_every or p.id % drop_every
        ]
        document = export_dfc(products, "https://origine.example")
        uow.rollback()
    return json.dumps(document).encode()


def run(db: Database, raw: bytes, label: str) -> None:
    feed, parse_ms = timed(lambda: parse_dfc(raw, max_bytes=len(raw) + 1))
    with db.uow() as uow:
        from catalog.sources import get_source

        source = get_source(uow, "bench-feed")
        plan, diff_ms = timed(lambda: plan_sync(uow, source, feed, SyncOptions()))
        if not plan.valid:
            print(label, "refused:", [f"{p.item_id}: {p.message}" for p in plan.problems[:5]])
            return
        _, apply_ms = timed(lambda: (apply_plan(uow, source, plan), uow.commit()))
    counts = plan.counts
    print(
        f"{label:<28} {len(raw) / 1e6:5.1f} MB  parse {parse_ms:7.0f} ms  diff {diff_ms:6.0f} ms  "
        f"apply+commit {apply_ms:6.0f} ms  added {counts['added']}, changed {counts['changed']}, "
        f"withdrawn {counts['withdrawn']}, unchanged {counts['unchanged']}, to classify {counts['to_classify']}"
    )


def main(items: Annotated[int, typer.Option(help="Items in the feed.")] = 5000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        migrate.upgrade(db)
        with db.uow() as uow:
            add_organisation(uow, "origine", "Origine", OrganisationKind.PRODUCER)
            add_organisation(uow, "copie", "Copie", OrganisationKind.PRODUCER)
            for n in range(items):
                name, category, unit = NOUNS[n % len(NOUNS)]
                draft = ProductDraft(
                    vendor="origine", sku=f"SKU-{n:05d}", names={"fr": f"{name} {n}", "de": f"{name} {n} DE"},
                    category=category, unit=unit, price_chf=Decimal(3 + n % 40) + Decimal("0.50"),
                    vat_class="reduced", stock=Decimal(n % 50), labels=["organic"] if n % 3 == 0 else [],
                )  # fmt: skip
                upsert_product(uow, draft, source="bench-origin", bump=False)
            bump_revision(uow)
            add_source(uow, "bench-feed", "copie", "dfc", "/dev/null")
            uow.commit()
        raw, export_ms = timed(lambda: feed_bytes(db))
        print(f"DFC export of {items} products: {export_ms:.0f} ms, {len(raw) / 1e6:.1f} MB")
        run(db, raw, "first sync (all added)")
        run(db, raw, "second sync (no-op)")
        run(db, feed_bytes(db, bump_every=10), "a tenth of prices changed")
        run(db, feed_bytes(db, bump_every=10, drop_every=100), "1 % withdrawn")
        db.dispose()


if __name__ == "__main__":
    typer.run(main)
