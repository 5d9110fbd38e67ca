"""`order`: the latest orders, one order in full (who receives what, its payment), status changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from admin.context import admin, console
from checkout.status import OrderStatus

if TYPE_CHECKING:
    from checkout.models import Order

app = typer.Typer(help="Orders.", no_args_is_help=True)


@app.command("list")
def order_list(
    ctx: typer.Context,
    status: Annotated[OrderStatus | None, typer.Option(help="Only orders with a vendor part in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Latest orders."""
    from checkout.services import list_orders

    state = admin(ctx)
    with state.unit_of_work() as uow:
        table = Table("number", "date", "status", "vendors", "delivery", "total", "Léman max", title="Orders")
        for o in list_orders(uow, status, limit):
            table.add_row(
                o.number, f"{o.created_at:%Y-%m-%d %H:%M}", state.translate(f"status.{o.status}"),
                str(len(o.vendor_orders)), o.delivery_mode + (f" {o.postal_code}" if o.postal_code else ""),
                state.chf(o.total), state.chf(o.leman_payable),
            )  # fmt: skip
    console.print(table)


@app.command("show")
def order_show(ctx: typer.Context, number: str) -> None:
    """An order with its vendor parts, lines and who receives what."""
    from admin.payments import payment_of
    from catalog.taxonomy import format_quantity
    from checkout.services import get_order

    state = admin(ctx)
    chf = state.chf
    with state.unit_of_work() as uow:
        order = get_order(uow, number)
        table = Table(
            "vendor", "status", "product", "qty", "unit price", "VAT %", "total", title=f"Order {order.number}"
        )
        for part in order.vendor_orders:
            for line in part.lines:
                table.add_row(
                    part.vendor.name, state.translate(f"status.{part.status}"), line.name,
                    f"{format_quantity(line.quantity)} {line.unit}", chf(line.unit_price), f"{line.vat_rate}",
                    chf(line.total),
                )  # fmt: skip
        console.print(table)
        local = state.settings.local_currency
        payouts = Table("who", "receives", f"of which in {local.name}", title="Who receives what")
        for part in order.vendor_orders:
            payouts.add_row(part.vendor.name, chf(part.vendor_receives), f"{part.leman_due} {local.code}")
        company = order.delivery_company.name if order.delivery_company else "Delivery"
        payouts.add_row(company, chf(order.delivery_fee), "")
        payouts.add_row(f"{state.settings.name} (commission)", chf(order.platform_commission), "")
        payouts.add_row("[bold]Total[/bold]", f"[bold]{chf(order.total)}[/bold]", "")
        console.print(payouts)
        console.print(f"Payable in {local.name}: up to {chf(order.leman_payable)}")
        _print_address(order)
        payment = payment_of(uow, order)
        if payment.legs:
            legs = Table("payment", "amount", "reference", "status", "received", title=f"Payment: {payment.state}")
            for leg in payment.legs:
                legs.add_row(leg.method, f"{leg.amount} {leg.currency}", leg.reference, leg.status, str(leg.received))
            console.print(legs)


def _print_address(order: Order) -> None:
    """The whole delivery address, phone and coordinates: admins see what the customer gave (vendors and
    couriers see less: checkout/drops.py). Values are the customer's own text: printed as text, not markup."""
    from rich.text import Text

    from checkout.address_book import order_delivery
    from checkout.drops import map_url, phone_e164

    if order.delivery_mode != "delivery":
        return
    address = order_delivery(order)
    table = Table("field", "value", title="Delivery address")
    place = " ".join(part for part in (order.postal_code, order.delivery_locality) if part)
    if address is None:
        table.add_row("postal code", Text(place))
        table.add_row("street", "(not given)")
        console.print(table)
        return
    latitude, longitude = address.latitude, address.longitude
    rows = {
        "recipient": address.recipient_name,
        "street": address.street,
        "details": address.details,
        "postal code": place,
        "phone": (phone_e164(address.phone) or address.phone) if address.phone else "",
        "coordinates": f"{latitude}, {longitude}" if latitude is not None and longitude is not None else "",
        "map": map_url(address.street, address.postal_code, address.locality, latitude, longitude),
    }
    for name, value in rows.items():
        table.add_row(name, Text(value))
    console.print(table)


@app.command("status")
def order_status(
    ctx: typer.Context,
    number: str,
    new: OrderStatus,
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's part.")] = None,
) -> None:
    """Move an order (or one vendor's part) to a new status; illegal moves are refused."""
    from checkout.services import change_status

    state = admin(ctx)
    with state.unit_of_work() as uow:
        order = change_status(uow, None, number, new, vendor)
        uow.commit()
        console.print(f"Order {order.number}: {state.translate(f'status.{order.status}')}")


@app.command("export")
def order_export(
    ctx: typer.Context,
    vendor: Annotated[str, typer.Option(help="The vendor whose orders are exported (its part of each order only).")],
    format: Annotated[str, typer.Option("--format", help="dfc: DFC Order/OrderLine JSON-LD.")] = "dfc",
    status: Annotated[
        list[OrderStatus] | None, typer.Option(help="Only vendor orders in this status (repeatable).")
    ] = None,
    output: Annotated[str | None, typer.Option(help="Write to this file (default: standard output).")] = None,
) -> None:
    """A vendor's orders as DFC JSON-LD, for the vendor's own tools (README, "Catalog sync")."""
    import json
    import os
    from pathlib import Path

    from catalog.sources import public_base_url
    from checkout.dfc_orders import export_vendor_orders

    if format != "dfc":
        raise typer.BadParameter("only dfc", param_hint="--format")
    with admin(ctx).unit_of_work() as uow:
        document = export_vendor_orders(uow, vendor, public_base_url(os.environ), statuses=status or None)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        console.print(f"Orders of {vendor} written to {output} (dfc).", markup=False)
