"""Admin command line of SmartketPlace chat: database, vendors, catalog, imports, orders, reports.

python admin_cli.py --help
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from bootstrap import App, build_app
from catalog import csv_io
from catalog.audit import audit_trail
from catalog.models import Product
from catalog.services import (
    ProductDraft,
    ProductFilters,
    catalog_counts,
    find_product,
    get_product,
    list_products,
    parse_decimal,
    upsert_product,
    view_product,
)
from catalog.taxonomy import format_quantity
from checkout import delivery
from checkout.models import Order, VendorOrder
from checkout.runs import run_for
from checkout.services import change_status, get_order, list_orders
from checkout.status import OrderStatus
from demo import load_demo
from marketplace import migrate, outbox
from marketplace.accounts import (
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    Person,
    add_organisation,
    get_organisation,
)
from marketplace.accounts import set_organisation_status as set_status
from marketplace.errors import MarketplaceError
from marketplace.i18n import error_message, format_chf, translate
from marketplace.linking import create_link_code
from marketplace.settings import SettingsError
from payments.camt import BankFileError, import_bank_file
from payments.deadlines import cancel_overdue
from payments.qr_bill import make_qr_bill
from payments.services import open_payment, payment_state

cli = typer.Typer(help="Run a SmartketPlace chat marketplace.", no_args_is_help=True, pretty_exceptions_enable=False)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_cli = typer.Typer(help="Demo catalog.", no_args_is_help=True)
vendor_cli = typer.Typer(help="Vendors, delivery companies and sectoral marketplaces.", no_args_is_help=True)
product_cli = typer.Typer(help="Products and services of the catalog.", no_args_is_help=True)
order_cli = typer.Typer(help="Orders.", no_args_is_help=True)
nlu_cli = typer.Typer(help="The assistant's training data.", no_args_is_help=True)
rasa_cli = typer.Typer(help="The Rasa server (its own Python 3.10 virtualenv).", no_args_is_help=True)
actions_cli = typer.Typer(help="The custom-action server.", no_args_is_help=True)
outbox_cli = typer.Typer(help="Notifications waiting, sent, or that could not be delivered.", no_args_is_help=True)
delivery_cli = typer.Typer(help="Delivery companies and their runs.", no_args_is_help=True)
payments_cli = typer.Typer(help="Payments: bank files, QR-bills, e-Léman, deadlines.", no_args_is_help=True)
for name, sub in [("db", db_cli), ("demo", demo_cli), ("vendor", vendor_cli), ("product", product_cli)]:
    cli.add_typer(sub, name=name)
for name, sub in [("order", order_cli), ("nlu", nlu_cli), ("rasa", rasa_cli), ("actions", actions_cli)]:
    cli.add_typer(sub, name=name)
for name, sub in [("outbox", outbox_cli), ("delivery", delivery_cli), ("payments", payments_cli)]:
    cli.add_typer(sub, name=name)

console = Console()
errors = Console(stderr=True)


class State:
    config: Path | None = None
    lang: str = "en"
    app: App | None = None


state = State()


@cli.callback()
def main(
    config: Annotated[
        Path | None, typer.Option(help="Deployment file (default: $SMARTKET_CONFIG or config/geneva.toml).")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of product names and messages.")] = os.environ.get(
        "SMARTKET_ADMIN_LANG", "en"
    ),
) -> None:
    state.config, state.lang = config, lang


def app() -> App:
    if state.app is None:
        try:
            state.app = build_app(state.config)
        except SettingsError as exc:
            errors.print(f"[red]Configuration error:[/red] {exc}")
            raise typer.Exit(2) from exc
    return state.app


@contextmanager
def unit_of_work() -> Iterator:  # type: ignore[type-arg]
    """A unit of work whose business errors end the command with a clear, translated message."""
    try:
        with app().db.uow() as uow:
            yield uow
    except MarketplaceError as exc:
        errors.print(f"[red]{error_message(exc, state.lang)}[/red]")
        raise typer.Exit(1) from exc


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


# --- outbox and delivery --------------------------------------------------------------------


@outbox_cli.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, sending, sent, failed, in_doubt, unreachable.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every message, not only those needing attention.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Notifications that could not be delivered (default), or all of them."""
    with unit_of_work() as uow:
        rows = outbox.list_messages(uow, status, limit) if (status or all_) else outbox.needing_attention(uow, limit)
        title = "Outbox" if (status or all_) else "Outbox: messages needing attention"
        table = Table("id", "created (UTC)", "kind", "to", "status", "attempts", "last error", title=title)
        for m in rows:
            to = f"{m.platform}:{m.destination}" if m.platform else f"person #{m.person_id}"
            table.add_row(
                str(m.id), f"{m.created_at:%Y-%m-%d %H:%M}", m.kind, to, m.status, str(m.attempts), m.last_error[:60]
            )
    console.print(table)
    if not rows and not (status or all_):
        console.print("Every notification was delivered or is on its way.")


@outbox_cli.command("retry")
def outbox_retry(message_id: int) -> None:
    """Send a failed, in-doubt or unreachable message again (to the person's current chat address)."""
    with unit_of_work() as uow:
        row = outbox.requeue(uow, message_id)
        uow.commit()
        if row is None:
            errors.print(f"[red]No failed, in-doubt or unreachable message #{message_id}.[/red]")
            raise typer.Exit(1)
        console.print(f"Message #{message_id}: {row.status} ({row.platform or 'still no chat address'}).")


@delivery_cli.command("zone")
def delivery_zone(
    company: str, postal_codes: Annotated[list[str], typer.Argument(help='"1205" or "1200-1299".')]
) -> None:
    """Postal codes a delivery company serves."""
    with unit_of_work() as uow:
        for codes in postal_codes:
            delivery.add_zone(uow, company, codes)
        uow.commit()
    console.print(f"{company} now also serves {', '.join(postal_codes)}.")


@delivery_cli.command("slot")
def delivery_slot(
    company: str,
    weekdays: Annotated[str, typer.Option(help="e.g. mon,wed,fri")],
    start: Annotated[str, typer.Option(help="HH:MM")],
    end: Annotated[str, typer.Option(help="HH:MM")],
    capacity: Annotated[int, typer.Option(min=1, help="Orders per slot and day.")],
    fee: Annotated[str, typer.Option(help="Delivery fee in CHF.")] = "7.00",
    cutoff_hours: Annotated[int, typer.Option(min=0, help="Orders close this many hours before the start.")] = 12,
) -> None:
    """A weekly delivery slot of a company."""
    with unit_of_work() as uow:
        for weekday in weekdays.split(","):
            delivery.add_slot(uow, company, weekday, start, end, capacity, parse_decimal(fee, "price"), cutoff_hours)
        uow.commit()
    console.print(f"{company}: {weekdays} {start}-{end}, {capacity} orders, CHF {fee}.")


@delivery_cli.command("pickup")
def delivery_pickup(shop: str, name: str, address: str, hours: str = "") -> None:
    """A pickup point: a shop where customers collect their orders."""
    with unit_of_work() as uow:
        delivery.add_pickup_point(uow, shop, name, address, hours)
        uow.commit()
    console.print(f"Pickup point {name} added.")


@delivery_cli.command("list")
def delivery_list(
    postal_code: Annotated[str | None, typer.Option(help="Only slots offered to this code now.")] = None,
) -> None:
    """Zones, slots (with today's bookings) and pickup points; or the slots offered to a postal code."""
    settings = app().settings
    now = datetime.now(ZoneInfo(settings.timezone))
    with unit_of_work() as uow:
        if postal_code:
            table = Table("day", "slot", "company", "fee", "places left", title=f"Slots offered to {postal_code}")
            for offer in delivery.available_slots(uow, postal_code, now, settings.delivery.days_ahead + 4):
                table.add_row(offer.day.isoformat(), offer.window, offer.company, format_chf(offer.fee, state.lang),
                              str(offer.remaining))  # fmt: skip
            console.print(table)
            return
        zones = Table("company", "postal codes", title="Delivery zones")
        for zone in uow.session.scalars(select(delivery.DeliveryZone).order_by(delivery.DeliveryZone.company_id)):
            company = uow.session.get(Organisation, zone.company_id)
            codes = str(zone.first_code) if zone.first_code == zone.last_code else f"{zone.first_code}-{zone.last_code}"
            zones.add_row(company.slug if company else "?", codes)
        slots = Table("company", "day", "slot", "capacity", "cut-off", "fee", title="Weekly slots")
        for slot in uow.session.scalars(select(delivery.DeliverySlot).order_by(delivery.DeliverySlot.weekday)):
            slots.add_row(slot.company.slug, delivery.WEEKDAYS[slot.weekday], slot.window, str(slot.capacity),
                          f"{slot.cutoff_hours} h", format_chf(slot.fee, state.lang))  # fmt: skip
        points = Table("pickup point", "address", "hours", title="Pickup points")
        for point in delivery.pickup_points(uow):
            points.add_row(point.name, point.address, point.hours)
    for table in (zones, slots, points):
        console.print(table)


@delivery_cli.command("run")
def delivery_run(
    company: str,
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today).")] = None,
) -> None:
    """A company's run for a day: pick-ups at vendors, then drops at customers, in order (printable)."""
    when = date.fromisoformat(day) if day else datetime.now(ZoneInfo(app().settings.timezone)).date()
    with unit_of_work() as uow:
        run = run_for(uow, get_organisation(uow, company), when)
        table = Table(
            "#", "stop", "order", "slot", "where", "items", "collect", "done", title=f"{run.company} — {when}"
        )
        for number, stop in enumerate(run.stops, 1):
            items = ", ".join(f"{format_quantity(i.quantity)} {i.unit} {i.name}" for i in stop.items)
            table.add_row(
                str(number), stop.kind, stop.order, stop.slot, stop.where, items,
                format_chf(stop.collect, state.lang) if stop.collect else "", "✓" if stop.done else "",
            )  # fmt: skip
    console.print(table)


# --- payments -------------------------------------------------------------------------------


@payments_cli.command("import")
def payments_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Read an ISO 20022 camt.054 / camt.053 bank file: credits matched to orders, each counted once."""
    with unit_of_work() as uow:
        try:
            report = import_bank_file(uow, file.read_bytes(), file.name)
        except BankFileError as exc:
            errors.print(f"[red]{file.name}: {exc}. Nothing was imported.[/red]")
            raise typer.Exit(1) from exc
        uow.commit()
    if report.already_imported:
        console.print(f"{file.name} was already imported: nothing changed.")
        return
    table = Table("outcome", "reference", "amount", "note", title=f"{file.name}: {report.applied} credit(s) applied")
    for reference, amount in report.paid:
        table.add_row("[green]paid[/green]", reference, format_chf(amount, state.lang), "")
    for reference, amount, missing in report.underpaid:
        table.add_row("[yellow]underpaid[/yellow]", reference, format_chf(amount, state.lang),
                      f"{format_chf(missing, state.lang)} missing")  # fmt: skip
    for reference, amount, extra in report.overpaid:
        table.add_row("[yellow]overpaid[/yellow]", reference, format_chf(amount, state.lang),
                      f"{format_chf(extra, state.lang)} too much: refund")  # fmt: skip
    for reference, amount in report.unknown:
        table.add_row("[red]unknown reference[/red]", reference, format_chf(amount, state.lang), "no such bill")
    for reference, amount, currency in report.other_currency:
        table.add_row("[red]other currency[/red]", reference, f"{amount} {currency}", "")
    for reference in report.duplicates:
        table.add_row("duplicate", reference, "", "already counted")
    for entry in report.not_booked:
        table.add_row("not booked", entry, "", "pending at the bank")
    console.print(table)


@payments_cli.command("list")
def payments_list(
    state_filter: Annotated[str | None, typer.Option("--state", help="awaiting, partial or paid.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Orders with their payment legs: what is awaited, partially paid, paid."""
    with unit_of_work() as uow:
        table = Table("order", "total", "state", "legs (method: amount status)", title="Payments")
        for order in list_orders(uow, None, limit):
            payment = payment_state(uow, order)
            if not payment.legs or (state_filter and payment.state != state_filter):
                continue
            legs = "; ".join(f"{leg.method}: {leg.amount} {leg.currency} {leg.status}" for leg in payment.legs)
            table.add_row(order.number, format_chf(order.total, state.lang), payment.state, legs)
    console.print(table)


@payments_cli.command("qrbill")
def payments_qrbill(
    number: str,
    out: Annotated[Path, typer.Option(help="Where to write the PDF (a PNG is written next to it).")] = Path("."),
) -> None:
    """Write an order's Swiss QR-bills (payment parts) as PDF and PNG: one, or one per vendor order with
    money_flow "vendor_order" (then named ORDER-LEG.pdf)."""
    with unit_of_work() as uow:
        order = get_order(uow, number)
        legs = [leg for leg in open_payment(uow, app().settings, order) if leg.method == "qr_bill"]
        uow.commit()
        if not legs:
            errors.print(f"[red]{order.number} has nothing to pay in francs by bank.[/red]")
            raise typer.Exit(1)
        bills = [(leg, make_qr_bill(app().settings, order, leg, state.lang)) for leg in legs]
    for leg, bill in bills:
        name = f"{order.number}.pdf" if len(bills) == 1 else f"{order.number}-{leg.id}.pdf"
        target = out / name if out.is_dir() else (out if len(bills) == 1 else out.with_name(name))
        target.write_bytes(bill.pdf)
        target.with_suffix(".png").write_bytes(bill.png)
        console.print(f"{target} and {target.with_suffix('.png')}: {leg.amount} CHF, reference {bill.reference}")


@payments_cli.command("deadlines")
def payments_deadlines() -> None:
    """Cancel the orders still unpaid past the payment deadline (their stock comes back)."""
    with unit_of_work() as uow:
        cancelled = cancel_overdue(uow, app().settings)
        uow.commit()
    console.print(f"{len(cancelled)} order(s) cancelled: {', '.join(cancelled)}" if cancelled else "Nothing overdue.")


# --- db -------------------------------------------------------------------------------------


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    migrate.upgrade(app().db)
    console.print(f"Database at revision [bold]{migrate.current_revision(app().db)}[/bold] ({_safe_url()})")


def _safe_url() -> str:
    return app().db.engine.url.render_as_string(hide_password=True)


# --- demo -----------------------------------------------------------------------------------


@demo_cli.command("load")
def demo_load() -> None:
    """Load the Geneva demo vendors, products and chat accounts (idempotent)."""
    migrate.upgrade(app().db)
    with unit_of_work() as uow, progress() as bar:
        task = bar.add_task("Demo catalog", total=None)
        report = load_demo(uow, lambda done, total: bar.update(task, completed=done, total=total))
        if not report.ok:
            _print_import_errors(report)
            raise typer.Exit(1)
        uow.commit()
    console.print(f"Demo catalog: {report.created} products created, {report.updated} updated.")


# --- vendors --------------------------------------------------------------------------------


@vendor_cli.command("add")
def vendor_add(
    slug: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    kind: Annotated[OrganisationKind, typer.Option(help="What the organisation is.")],
    pending: Annotated[bool, typer.Option(help="Wait for approval instead of approving now.")] = False,
    leman_share: Annotated[int, typer.Option(help="Share of prices accepted in local currency (0-100).")] = 0,
    place: Annotated[str, typer.Option(help="Commune or town.")] = "",
) -> None:
    """Register a producer, shop, delivery company or sectoral marketplace."""
    with unit_of_work() as uow:
        org = add_organisation(uow, slug, name, kind, pending=pending, leman_share_pct=leman_share, place=place)
        uow.commit()
        console.print(f"Vendor [bold]{org.slug}[/bold] added ({org.kind}, {org.status}).")


def _set_vendor_status(slug: str, status: ApprovalStatus) -> None:
    with unit_of_work() as uow:
        set_status(uow, slug, status)
        uow.commit()
    console.print(f"Vendor [bold]{slug}[/bold] is now {status}.")


@vendor_cli.command("approve")
def vendor_approve(slug: str) -> None:
    """Approve a pending or suspended vendor: its products become visible."""
    _set_vendor_status(slug, ApprovalStatus.APPROVED)


@vendor_cli.command("suspend")
def vendor_suspend(slug: str) -> None:
    """Suspend a vendor: its products disappear from search and cannot be ordered."""
    _set_vendor_status(slug, ApprovalStatus.SUSPENDED)


@vendor_cli.command("list")
def vendor_list() -> None:
    """All organisations with their status and product count."""
    with unit_of_work() as uow:
        counts = dict(uow.session.execute(select(Product.vendor_id, func.count()).group_by(Product.vendor_id)).all())
        table = Table("slug", "name", "kind", "status", "place", "Léman %", "products", title="Vendors")
        for org in uow.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.slug)):
            table.add_row(
                org.slug,
                org.name,
                org.kind,
                org.status,
                org.place,
                str(org.leman_share_pct),
                str(counts.get(org.id, 0)),
            )
    console.print(table)


@vendor_cli.command("invite")
def vendor_invite(
    slug: str,
    days: Annotated[int, typer.Option(min=1, max=90, help="Days the code stays valid.")] = 7,
) -> None:
    """A one-time code that links a member's chat account to this vendor or delivery company (`/link CODE`)."""
    with unit_of_work() as uow:
        code, expires = create_link_code(uow, slug, timedelta(days=days))
        org = get_organisation(uow, slug)
        uow.commit()
        role = "courier of" if org.kind == OrganisationKind.DELIVERY else "member of"
    console.print(
        Panel(
            f"[bold]/link {code}[/bold]\n\nMakes whoever sends it to the bot a {role} {org.name}.\n"
            f"Valid once, until {expires:%Y-%m-%d %H:%M} UTC. Hand it over in person or by phone.",
            title=f"Link code for {slug}",
        )
    )


@vendor_cli.command("audit")
def vendor_audit(
    slug: Annotated[str | None, typer.Argument(help="Only this vendor.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Who changed which stock, price or availability, when, from what to what."""
    with unit_of_work() as uow:
        vendor_id = get_organisation(uow, slug).id if slug else None
        table = Table("when (UTC)", "who", "vendor", "sku", "field", "old", "new", title="Vendor changes")
        for entry in audit_trail(uow, vendor_id, limit):
            who = uow.session.get(Person, entry.actor_id) if entry.actor_id else None
            vendor = uow.session.get(Organisation, entry.vendor_id)
            table.add_row(
                f"{entry.at:%Y-%m-%d %H:%M:%S}", (who.display_name or f"#{who.id}") if who else "-",
                vendor.slug if vendor else "-", entry.sku, entry.field, entry.old_value, entry.new_value,
            )  # fmt: skip
    console.print(table)


# --- products -------------------------------------------------------------------------------


def _product_ref(uow, ref: str) -> Product:  # type: ignore[no-untyped-def]
    """`vendor/sku` or a numeric product id."""
    if ref.isdigit():
        return get_product(uow, int(ref))
    vendor, _, sku = ref.partition("/")
    return find_product(uow, vendor, sku)


@product_cli.command("add")
def product_add(
    vendor: Annotated[str, typer.Option(help="Vendor slug.")],
    sku: Annotated[str, typer.Option()],
    name_fr: Annotated[str, typer.Option()],
    category: Annotated[str, typer.Option()],
    unit: Annotated[str, typer.Option(help="piece, kg, l, hour or a pack such as '500 g'.")],
    price: Annotated[str, typer.Option(help="Price in CHF, VAT included.")],
    vat_class: Annotated[str, typer.Option(help="reduced or standard.")] = "reduced",
    stock: Annotated[str, typer.Option()] = "0",
    name_de: Annotated[str, typer.Option()] = "",
    name_it: Annotated[str, typer.Option()] = "",
    name_en: Annotated[str, typer.Option()] = "",
    labels: Annotated[str, typer.Option(help="Label slugs separated by ';'.")] = "",
    origin: Annotated[str, typer.Option(help="Place (N km).")] = "",
) -> None:
    """Add one product or service (or update it if the vendor already has this SKU)."""
    with unit_of_work() as uow:
        place, km = csv_io.parse_origin(origin)
        draft = ProductDraft(
            vendor=vendor,
            sku=sku,
            names={"fr": name_fr, "de": name_de, "it": name_it, "en": name_en},
            category=category,
            unit=unit,
            price_chf=parse_decimal(price, "price"),
            vat_class=vat_class,
            stock=parse_decimal(stock, "stock"),
            labels=[s for s in labels.split(";") if s],
            origin_place=place,
            origin_km=km,
        )
        product, created = upsert_product(uow, draft)
        uow.commit()
        console.print(f"Product #{product.id} {vendor}/{sku} {'created' if created else 'updated'}.")


@product_cli.command("update")
def product_update(
    ref: Annotated[str, typer.Argument(help="vendor/sku or product id.")],
    price: Annotated[str | None, typer.Option(help="New price in CHF.")] = None,
    stock: Annotated[str | None, typer.Option(help="New stock.")] = None,
    available: Annotated[bool | None, typer.Option("--available/--unavailable")] = None,
    photo: Annotated[str | None, typer.Option(help="Photo URL.")] = None,
) -> None:
    """Change a product's price, stock, availability or photo."""
    with unit_of_work() as uow:
        product = _product_ref(uow, ref)
        draft = ProductDraft(
            vendor=product.vendor.slug,
            sku=product.sku,
            names=dict(product.names),
            descriptions=dict(product.descriptions),
            category=product.category,
            unit=product.unit,
            price_chf=parse_decimal(price, "price") if price is not None else product.price_chf,
            vat_class=product.vat_class,
            stock=parse_decimal(stock, "stock") if stock is not None else product.stock,
            labels=list(product.labels),
            origin_place=product.origin_place,
            origin_km=product.origin_km,
            photo_url=photo if photo is not None else product.photo_url,
            available=available if available is not None else product.available,
        )
        upsert_product(uow, draft, source=product.source)
        uow.commit()
    _show(ref)


@product_cli.command("list")
def product_list(vendor: Annotated[str | None, typer.Option(help="Only this vendor's products.")] = None) -> None:
    """Products with price, stock and labels."""
    with unit_of_work() as uow:
        views = list_products(uow, state.lang, vendor)
    table = Table("id", "vendor/sku", "name", "unit", "price", "stock", "labels", title=f"Products ({len(views)})")
    for v in views:
        stock = format_quantity(v.stock) if v.available else "unavailable"
        table.add_row(
            str(v.id), f"{v.vendor_slug}/{v.sku}", v.name, v.unit, format_chf(v.price.amount, state.lang), stock,
            ", ".join(v.labels),
        )  # fmt: skip
    console.print(table)


def _show(ref: str) -> None:
    with unit_of_work() as uow:
        v = view_product(_product_ref(uow, ref), state.lang)
    lines = [
        f"[bold]{v.name}[/bold]  —  {v.vendor_name} ({v.vendor_slug}/{v.sku}, #{v.id})",
        v.description,
        f"{v.category_name} · {v.kind} · {format_chf(v.price.amount, state.lang)} / {v.unit} · VAT {v.vat_class}",
        f"Stock: {format_quantity(v.stock)}{'' if v.available else ' (unavailable)'}"
        f" · Léman accepted: {v.leman_share_pct} %",
        f"Labels: {', '.join(v.label_names) or '—'}",
        f"Origin: {csv_io.format_origin(v.origin_place, v.origin_km) or '—'}",
    ]
    if v.photo_url:
        lines.append(f"Photo: {v.photo_url}")
    console.print(Panel("\n".join(line for line in lines if line), title="Product"))


@product_cli.command("show")
def product_show(ref: Annotated[str, typer.Argument(help="vendor/sku or product id.")]) -> None:
    """Everything about one product."""
    _show(ref)


def _print_import_errors(report: csv_io.ImportReport) -> None:
    table = Table("line", "problem", title=f"{len(report.errors)} problem(s): nothing was imported")
    for error in report.errors:
        table.add_row(str(error.line), error.message)
    errors.print(table)


@product_cli.command("import")
def product_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import products from CSV (all rows or none; re-import updates in place)."""
    with unit_of_work() as uow, progress() as bar:
        task = bar.add_task(f"Importing {file.name}", total=None)
        report = csv_io.import_file(
            uow, file, on_progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
        if not report.ok:
            bar.stop()
            _print_import_errors(report)
            raise typer.Exit(1)
        uow.commit()
    console.print(f"{report.rows} rows: {report.created} created, {report.updated} updated.")


@product_cli.command("export")
def product_export(file: Annotated[Path, typer.Argument(dir_okay=False)]) -> None:
    """Export the whole catalog to CSV (the import format)."""
    with unit_of_work() as uow:
        file.write_text(csv_io.export_products(uow), encoding="utf-8")
        count = catalog_counts(uow)["products"]
    console.print(f"{count} products written to {file}.")


@product_cli.command("search")
def product_search(
    query: str,
    lang: Annotated[str | None, typer.Option(help="Language of the results (default: --lang).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, best first.")] = False,
    label: Annotated[str | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option()] = None,
    vendor: Annotated[str | None, typer.Option(help="Vendor slug.")] = None,
    max_price: Annotated[str | None, typer.Option(help="Maximum price in CHF.")] = None,
    in_stock: Annotated[bool, typer.Option(help="Only products in stock.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
) -> None:
    """Search the catalog as a shopper would (typos, any language, synonyms)."""
    lang = lang or state.lang
    with unit_of_work() as uow:
        filters = ProductFilters(
            category=category,
            label=label,
            vendor=vendor,
            max_price=parse_decimal(max_price, "max_price") if max_price else None,
            in_stock_only=in_stock,
        )
        results = app().search.search(uow, query, lang, filters, limit)
    if as_json:
        payload = [
            {
                "sku": r.product.sku,
                "vendor": r.product.vendor_slug,
                "name": r.product.name,
                "price_chf": f"{r.product.price.amount:.2f}",
                "score": r.score,
            }
            for r in results
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    table = Table("#", "score", "name", "vendor", "price", "stock", "labels", title=f"Search: {query!r}")
    for rank, r in enumerate(results, start=1):
        v = r.product
        table.add_row(
            str(rank), f"{r.score:.0f}", v.name, v.vendor_name, f"{format_chf(v.price.amount, lang)} / {v.unit}",
            format_quantity(v.stock), ", ".join(v.label_names),
        )  # fmt: skip
    console.print(table)


# --- orders ---------------------------------------------------------------------------------


@order_cli.command("list")
def order_list(
    status: Annotated[OrderStatus | None, typer.Option(help="Only orders with a vendor part in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Latest orders."""
    with unit_of_work() as uow:
        table = Table("number", "date", "status", "vendors", "delivery", "total", "Léman max", title="Orders")
        for o in list_orders(uow, status, limit):
            table.add_row(
                o.number, f"{o.created_at:%Y-%m-%d %H:%M}", translate(f"status.{o.status}", state.lang),
                str(len(o.vendor_orders)), o.delivery_mode + (f" {o.postal_code}" if o.postal_code else ""),
                format_chf(o.total, state.lang), format_chf(o.leman_payable, state.lang),
            )  # fmt: skip
    console.print(table)


@order_cli.command("show")
def order_show(number: str) -> None:
    """An order with its vendor parts, lines and who receives what."""
    with unit_of_work() as uow:
        order = get_order(uow, number)
        chf = lambda amount: format_chf(amount, state.lang)  # noqa: E731
        table = Table(
            "vendor", "status", "product", "qty", "unit price", "VAT %", "total", title=f"Order {order.number}"
        )
        for part in order.vendor_orders:
            for line in part.lines:
                table.add_row(
                    part.vendor.name,
                    translate(f"status.{part.status}", state.lang),
                    line.name,
                    f"{format_quantity(line.quantity)} {line.unit}",
                    chf(line.unit_price),
                    f"{line.vat_rate}",
                    chf(line.total),
                )
        console.print(table)
        local = app().settings.local_currency
        payouts = Table("who", "receives", f"of which in {local.name}", title="Who receives what")
        for part in order.vendor_orders:
            payouts.add_row(part.vendor.name, chf(part.vendor_receives), f"{part.leman_due} {local.code}")
        company = order.delivery_company.name if order.delivery_company else "Delivery"
        payouts.add_row(company, chf(order.delivery_fee), "")
        payouts.add_row(f"{app().settings.name} (commission)", chf(order.platform_commission), "")
        payouts.add_row("[bold]Total[/bold]", f"[bold]{chf(order.total)}[/bold]", "")
        console.print(payouts)
        console.print(f"Payable in {local.name}: up to {chf(order.leman_payable)}")
        payment = payment_state(uow, order)
        if payment.legs:
            legs = Table("payment", "amount", "reference", "status", "received", title=f"Payment: {payment.state}")
            for leg in payment.legs:
                legs.add_row(leg.method, f"{leg.amount} {leg.currency}", leg.reference, leg.status, str(leg.received))
            console.print(legs)


@order_cli.command("status")
def order_status(
    number: str,
    new: OrderStatus,
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's part.")] = None,
) -> None:
    """Move an order (or one vendor's part) to a new status; illegal moves are refused."""
    with unit_of_work() as uow:
        order = change_status(uow, None, number, new, vendor)
        uow.commit()
        console.print(f"Order {order.number}: {translate(f'status.{order.status}', state.lang)}")


# --- dialogue ------------------------------------------------------------------------------


@nlu_cli.command("export")
def nlu_export() -> None:
    """Write dialogues/data/catalog.yml (lookup tables of products, vendors, categories, labels)."""
    from dialogues.nlu_export import export

    with unit_of_work() as uow:
        path = export(uow)
    console.print(f"NLU catalog data written to {path}.")


def _rasa_runtime():  # type: ignore[no-untyped-def]
    from dialogues import runtime

    return runtime


@rasa_cli.command("train")
def rasa_train(force: Annotated[bool, typer.Option(help="Train even if an identical model exists.")] = False) -> None:
    """Train the model, unless one was already trained on exactly these files."""
    runtime = _rasa_runtime()
    try:
        with console.status("Training the Rasa model (a few minutes on 2 cores)..."):
            path = runtime.train(force=force)
    except runtime.RasaSetupError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Model: {path}")


@rasa_cli.command("serve")
def rasa_serve() -> None:
    """Train if needed, then run the Rasa server on 127.0.0.1:5005 with its HTTP API."""
    runtime = _rasa_runtime()
    rasa_train()
    settings = app().settings
    command = runtime.rasa_server_command(settings, runtime.model_path())
    os.execve(command[0], command, runtime.rasa_env() | runtime.rasa_password_env(settings))


@actions_cli.command("serve")
def actions_serve(port: Annotated[int, typer.Option()] = 5055) -> None:
    """Run the custom-action server on 127.0.0.1 (SMARTKET_ACTIONS_HOST to change)."""
    from dialogues.action_server import serve

    migrate.upgrade(app().db)
    serve(port)


# --- reports --------------------------------------------------------------------------------


@cli.command("stats")
def stats() -> None:
    """Vendors, products, stock and sales at a glance."""
    with unit_of_work() as uow:
        s = uow.session
        settings = app().settings
        counts = catalog_counts(uow)
        by_category = s.execute(
            select(Product.category, func.count(), func.sum(Product.stock))
            .group_by(Product.category)
            .order_by(Product.category)
        ).all()
        orders = s.scalar(select(func.count(Order.id))) or 0
        sold = s.scalar(
            select(func.sum(VendorOrder.goods_total)).where(VendorOrder.status.notin_(["cancelled", "refunded"]))
        )
        out_of_stock = s.scalar(select(func.count(Product.id)).where(Product.stock <= 0)) or 0
    summary = Table(title=f"{settings.name} — {settings.slug}", show_header=False)
    summary.add_row("Organisations", str(counts["vendors"]))
    summary.add_row("Products and services", str(counts["products"]))
    summary.add_row("Out of stock", str(out_of_stock))
    summary.add_row("Orders", str(orders))
    summary.add_row("Goods sold", format_chf(sold or Decimal(0), state.lang))
    summary.add_row("Database", _safe_url())
    console.print(summary)
    table = Table("category", "products", "stock", title="Catalog by category")
    for category, count, stock in by_category:
        table.add_row(category, str(count), format_quantity(Decimal(stock or 0)))
    console.print(table)


if __name__ == "__main__":
    cli()
