"""The demo catalog of Geneva (fictitious vendors, realistic products) and demo chat accounts.

The chat accounts (`terminal:demo`, `terminal:admin`, a `terminal:<vendor>` member of each vendor) are for
the terminal chat, which exists in the demo deployment only (SMARTKET_DEMO=1): `admin_cli.py demo load`
creates them there only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from catalog.csv_io import ImportReport, import_products
from marketplace.accounts import Organisation, OrganisationKind, add_member, add_organisation, person_for_chat
from marketplace.db import UnitOfWork

DEMO_DIR = Path(__file__).parent / "data"
DEMO_CONSUMER = "terminal:demo"
DEMO_ADMIN = "terminal:admin"


def vendor_chat_address(slug: str) -> str:
    """Chat address of the demo member of a vendor, used by the terminal chat's producer mode."""
    return f"terminal:{slug}"


def load_demo(
    uow: UnitOfWork, on_progress: Callable[[int, int], None] | None = None, *, chat_accounts: bool = True
) -> ImportReport:
    """Create the demo vendors (if missing), then import the products; with `chat_accounts`, also the
    terminal chat's people (a member of each vendor, the demo consumer and the demo admin)."""
    raw = tomllib.loads((DEMO_DIR / "vendors.toml").read_text(encoding="utf-8"))
    existing = {org.slug: org for org in uow.session.scalars(select(Organisation))}
    for vendor in raw["vendor"]:
        org = existing.get(vendor["slug"]) or add_organisation(
            uow,
            vendor["slug"],
            vendor["name"],
            OrganisationKind(vendor["kind"]),
            leman_share_pct=int(vendor.get("leman_share_pct", 0)),
            place=vendor.get("place", ""),
            descriptions={k.removeprefix("description_"): v for k, v in vendor.items() if k.startswith("description_")},
            vehicle=vendor.get("vehicle", ""),
        )
        if chat_accounts:  # (also for vendors loaded before without them)
            member = person_for_chat(uow, vendor_chat_address(org.slug))
            member.display_name = f"{org.name}"
            if all(m.organisation_id != org.id for m in member.memberships):
                add_member(uow, member, org)
    _load_delivery(uow)
    if chat_accounts:
        person_for_chat(uow, DEMO_CONSUMER).display_name = "Demo"
        admin = person_for_chat(uow, DEMO_ADMIN)
        admin.display_name, admin.is_admin = "Admin", True
    return import_products(uow, (DEMO_DIR / "products.csv").read_text(encoding="utf-8"), "demo", on_progress)


def _load_delivery(uow: UnitOfWork) -> None:
    """The demo delivery companies' zones and slots, and a pickup point (once)."""
    from checkout import delivery  # the demo spans the catalog and checkout; imported here, not at the top

    if delivery.has_slots(uow):
        return
    raw = tomllib.loads((DEMO_DIR / "delivery.toml").read_text(encoding="utf-8"))
    for zone in raw.get("zone", []):
        for codes in zone["postal_codes"]:
            delivery.add_zone(uow, zone["company"], codes)
    for slot in raw.get("slot", []):
        for weekday in slot["weekdays"]:
            delivery.add_slot(
                uow, slot["company"], weekday, slot["start"], slot["end"], int(slot["capacity"]),
                Decimal(slot["fee_chf"]), int(slot.get("cutoff_hours", 12)),
            )  # fmt: skip
    for point in raw.get("pickup", []):
        delivery.add_pickup_point(uow, point["shop"], point["name"], point["address"], point.get("hours", ""))
