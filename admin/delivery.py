"""`delivery`: delivery companies' zones and weekly slots, pickup points, and a company's run for a day."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from admin.context import admin, console

if TYPE_CHECKING:
    from checkout.runs import Run

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


class SheetFormat(StrEnum):
    text = "text"
    html = "html"
    pdf = "pdf"


def _run_table(run: Run, chf: Callable[[Decimal], str]) -> Table:
    """The run as a console table; a drop's address (while its couriers may see it) under its postal code."""
    from catalog.taxonomy import format_quantity

    table = Table("#", "stop", "order", "slot", "where", "items", "collect", "done", title=f"{run.company} — {run.day}")
    for number, stop in enumerate(run.stops, 1):
        items = ", ".join(f"{format_quantity(i.quantity)} {i.unit} {i.name}" for i in stop.items)
        where = [stop.where]
        if stop.address is not None and stop.address.shown:
            address = stop.address
            where = [address.recipient, address.street, address.place, address.details, address.phone_e164]
        table.add_row(
            str(number), stop.kind, stop.order, stop.slot, Text("\n".join(w for w in where if w)), Text(items),
            chf(stop.collect) if stop.collect else "", "✓" if stop.done else "",
        )  # fmt: skip
    return table


@app.command("run")
def delivery_run(
    ctx: typer.Context,
    company: str,
    day: Annotated[str | None, typer.Option("--date", "--day", help="YYYY-MM-DD (default: today).")] = None,
    form: Annotated[
        SheetFormat, typer.Option("--format", help="text (a table), html or pdf (a printable run sheet).")
    ] = SheetFormat.text,
    output: Annotated[
        Path | None,
        typer.Option(help="File to write, readable by its owner only (html, pdf: default data_dir/run-sheets/)."),
    ] = None,
) -> None:
    """A company's run for a day: pick-ups at vendors, then drops at customers, in order; printable as HTML or
    PDF. Drops show their address as the company's couriers see it now (until delivered + the grace period)."""
    from datetime import date, timedelta

    from checkout.runs import run_for
    from checkout.services import local_now
    from marketplace.accounts import get_organisation
    from marketplace.clock import utcnow
    from marketplace.media import private_folder, write_private

    state = admin(ctx)
    try:
        when = date.fromisoformat(day) if day else local_now(state.settings).date()
    except ValueError as exc:
        raise typer.BadParameter(f"{day!r} is not a date like 2026-11-25.", param_hint="--date") from exc
    grace = timedelta(hours=state.settings.delivery.address_grace_hours)
    with state.unit_of_work() as uow:
        organisation = get_organisation(uow, company)
        run, slug = run_for(uow, organisation, when, now=utcnow(), grace=grace), organisation.slug
    if form is SheetFormat.text:
        if output is None:
            console.print(_run_table(run, state.chf))
            return
        text = io.StringIO()
        Console(file=text, width=160, color_system=None).print(_run_table(run, state.chf))
        data = text.getvalue().encode()
    else:
        from admin.run_sheet import render_html, render_pdf

        data = render_pdf(run, state.lang) if form is SheetFormat.pdf else render_html(run, state.lang).encode()
    if output is None:
        folder = private_folder(state.settings.data_dir / "run-sheets")
        output = folder / f"{slug}-{when.isoformat()}.{form.value}"
    write_private(output, data)
    console.print(f"Run sheet written to {output} (readable by its owner only).")
