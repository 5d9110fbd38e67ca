"""`delivery`: delivery companies' zones and weekly slots, pickup points, and a company's run for a day."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from admin.context import admin, console

app = typer.Typer(help="Delivery companies and their runs.", no_args_is_help=True)


@app.command("zone")
def delivery_zone(
    ctx: typer.Context,
    company: str,
    postal_codes: Annotated[list[str], typer.Argument(help='"1205" or "1200-1299".')],
) -> None:
    """Postal codes a delivery company serves."""
    from checkout.delivery import add_zone

    with admin(ctx).unit_of_work() as uow:
        for codes in postal_codes:
            add_zone(uow, company, codes)
        uow.commit()
    console.print(f"{company} now also serves {', '.join(postal_codes)}.")


@app.command("slot")
def delivery_slot(
    ctx: typer.Context,
    company: str,
    weekdays: Annotated[str, typer.Option(help="e.g. mon,wed,fri")],
    start: Annotated[str, typer.Option(help="HH:MM")],
    end: Annotated[str, typer.Option(help="HH:MM")],
    capacity: Annotated[int, typer.Option(min=1, help="Orders per slot and day.")],
    fee: Annotated[str, typer.Option(help="Delivery fee in CHF.")] = "7.00",
    cutoff_hours: Annotated[int, typer.Option(min=0, help="Orders close this many hours before the start.")] = 12,
) -> None:
    """A weekly delivery slot of a company."""
    from catalog.services import parse_decimal
    from checkout.delivery import add_slot

    with admin(ctx).unit_of_work() as uow:
        for weekday in weekdays.split(","):
            add_slot(uow, company, weekday, start, end, capacity, parse_decimal(fee, "price"), cutoff_hours)
        uow.commit()
    console.print(f"{company}: {weekdays} {start}-{end}, {capacity} orders, CHF {fee}.")


@app.command("pickup")
def delivery_pickup(ctx: typer.Context, shop: str, name: str, address: str, hours: str = "") -> None:
    """A pickup point: a shop where customers collect their orders."""
    from checkout.delivery import add_pickup_point

    with admin(ctx).unit_of_work() as uow:
        add_pickup_point(uow, shop, name, address, hours)
        uow.commit()
    console.print(f"Pickup point {name} added.")


@app.command("list")
def delivery_list(
    ctx: typer.Context,
    postal_code: Annotated[str | None, typer.Option(help="Only slots offered to this code now.")] = None,
) -> None:
    """Zones, slots (with today's bookings) and pickup points; or the slots offered to a postal code."""
    from checkout.delivery import WEEKDAYS, available_slots, pickup_points
    from checkout.flow import SLOT_DAYS_EXTRA
    from checkout.reports import delivery_zones, weekly_slots
    from checkout.services import local_now

    state = admin(ctx)
    settings = state.settings
    with state.unit_of_work() as uow:
        if postal_code:
            # The slots the checkout would offer now: same horizon, cut-offs and places left.
            days = settings.delivery.days_ahead + SLOT_DAYS_EXTRA
            table = Table("day", "slot", "company", "fee", "places left", title=f"Slots offered to {postal_code}")
            for offer in available_slots(uow, postal_code, local_now(settings), days):
                table.add_row(offer.day.isoformat(), offer.window, offer.company, state.chf(offer.fee),
                              str(offer.remaining))  # fmt: skip
            console.print(table)
            return
        zones = Table("company", "postal codes", title="Delivery zones")
        for zone in delivery_zones(uow):
            zones.add_row(zone.company, zone.postal_codes)
        slots = Table("company", "day", "slot", "capacity", "cut-off", "fee", title="Weekly slots")
        for slot in weekly_slots(uow):
            slots.add_row(slot.company.slug, WEEKDAYS[slot.weekday], slot.window, str(slot.capacity),
                          f"{slot.cutoff_hours} h", state.chf(slot.fee))  # fmt: skip
        points = Table("pickup point", "address", "hours", title="Pickup points")
        for point in pickup_points(uow):
            points.add_row(point.name, point.address, point.hours)
    for table in (zones, slots, points):
        console.print(table)


@app.command("run")
def delivery_run(
    ctx: typer.Context,
    company: str,
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today).")] = None,
) -> None:
    """A company's run for a day: pick-ups at vendors, then drops at customers, in order (printable)."""
    from datetime import date

    from catalog.taxonomy import format_quantity
    from checkout.runs import run_for
    from checkout.services import local_now
    from marketplace.accounts import get_organisation

    state = admin(ctx)
    when = date.fromisoformat(day) if day else local_now(state.settings).date()
    with state.unit_of_work() as uow:
        run = run_for(uow, get_organisation(uow, company), when)
        table = Table(
            "#", "stop", "order", "slot", "where", "items", "collect", "done", title=f"{run.company} — {when}"
        )
        for number, stop in enumerate(run.stops, 1):
            items = ", ".join(f"{format_quantity(i.quantity)} {i.unit} {i.name}" for i in stop.items)
            table.add_row(
                str(number), stop.kind, stop.order, stop.slot, stop.where, items,
                state.chf(stop.collect) if stop.collect else "", "✓" if stop.done else "",
            )  # fmt: skip
    console.print(table)
