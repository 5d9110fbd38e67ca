"""`payments`: bank files, the state of each order's payment, QR-bills, deadlines.

Every call into the payment services goes through the three functions at the top of this module, so the
admin commands follow when the checkout flow (placing an order, opening its payment legs, writing its
payment documents) gets its one home.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from admin.context import AdminContext, admin, console, errors

if TYPE_CHECKING:
    from checkout.models import Order
    from marketplace.db import UnitOfWork
    from marketplace.settings import Settings
    from payments.models import PaymentLeg
    from payments.qr_bill import QrBillDocument
    from payments.services import PaymentState

app = typer.Typer(help="Payments: bank files, QR-bills, e-Léman, deadlines, refunds.", no_args_is_help=True)

# Why a credit is to refund (payments.models.RefundReason), as the admin reads it.
REASONS = {
    "overpaid": "overpaid: the surplus",
    "other_currency": "other currency",
    "cancelled": "order cancelled",
    "already_paid": "already paid",
    "unknown_reference": "unknown reference: check",
}


# --- the payment services the admin commands use ----------------------------------------------------------


def payment_of(uow: UnitOfWork, order: Order) -> PaymentState:
    """The order's payment legs and whether they are awaited, partly paid or paid."""
    from payments.services import payment_state

    return payment_state(uow, order)


def bank_legs(uow: UnitOfWork, settings: Settings, order: Order) -> list[PaymentLeg]:
    """The legs paid in francs by bank transfer (with a QR-bill), opening the order's payment if not yet done."""
    from payments.models import LegMethod
    from payments.services import open_payment

    return [leg for leg in open_payment(uow, settings, order) if leg.method == LegMethod.QR_BILL]


def qr_bill(settings: Settings, order: Order, leg: PaymentLeg, lang: str) -> QrBillDocument:
    from payments.qr_bill import make_qr_bill  # cairosvg: a third of a second to import

    return make_qr_bill(settings, order, leg, lang)


def money(state: AdminContext, amount: Decimal, currency: str) -> str:
    """Francs as everywhere in the CLI ("CHF 4.80"), any other currency by its code ("4.80 LEM")."""
    return state.chf(amount) if currency == "CHF" else f"{amount} {currency}"


# --- commands -----------------------------------------------------------------------------------------------


@app.command("import")
def payments_import(ctx: typer.Context, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Read an ISO 20022 camt.054 / camt.053 bank file: credits matched to orders, each counted once."""
    from payments.camt import BankFileError, import_bank_file

    state = admin(ctx)
    chf = state.chf
    with state.unit_of_work() as uow:
        try:
            report = import_bank_file(uow, file.read_bytes(), file.name, state.settings)
        except BankFileError as exc:
            errors.print(f"[red]{file.name}: {exc}. Nothing was imported.[/red]")
            raise typer.Exit(1) from exc
        uow.commit()
    if report.already_imported:
        console.print(f"{file.name} was already imported: nothing changed.")
        return
    table = Table("outcome", "reference", "amount", "note", title=f"{file.name}: {report.applied} credit(s) applied")
    for reference, amount in report.paid:
        table.add_row("[green]paid[/green]", reference, chf(amount), "")
    for reference, amount, missing in report.underpaid:
        table.add_row("[yellow]underpaid[/yellow]", reference, chf(amount), f"{chf(missing)} missing")
    for reference, amount, extra in report.overpaid:
        table.add_row("[yellow]overpaid[/yellow]", reference, chf(amount), f"{chf(extra)} too much: refund")
    for reference, amount in report.unknown:
        table.add_row("[red]unknown reference[/red]", reference, chf(amount), "no such bill")
    for reference, amount, currency, reason in report.refunds:
        table.add_row("[red]to refund[/red]", reference, money(state, amount, currency), REASONS.get(reason, reason))
    for reference in report.duplicates:
        table.add_row("duplicate", reference, "", "already counted")
    for entry in report.not_booked:
        table.add_row("not booked", entry, "", "pending at the bank")
    console.print(table)


@app.command("list")
def payments_list(
    ctx: typer.Context,
    state_filter: Annotated[str | None, typer.Option("--state", help="awaiting, partial or paid.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Orders with their payment legs: what is awaited, partially paid, paid."""
    from checkout.services import list_orders

    state = admin(ctx)
    with state.unit_of_work() as uow:
        table = Table("order", "total", "state", "legs (method: amount status)", title="Payments")
        for order in list_orders(uow, None, limit):
            payment = payment_of(uow, order)
            if not payment.legs or (state_filter and payment.state != state_filter):
                continue
            legs = "; ".join(f"{leg.method}: {leg.amount} {leg.currency} {leg.status}" for leg in payment.legs)
            table.add_row(order.number, state.chf(order.total), payment.state, legs)
    console.print(table)


@app.command("qrbill")
def payments_qrbill(
    ctx: typer.Context,
    number: str,
    out: Annotated[Path, typer.Option(help="Where to write the PDF (a PNG is written next to it).")] = Path("."),
) -> None:
    """Write an order's Swiss QR-bills (payment parts) as PDF and PNG: one, or one per vendor order with
    money_flow "vendor_order" (then named ORDER-LEG.pdf)."""
    from checkout.services import get_order

    state = admin(ctx)
    with state.unit_of_work() as uow:
        order = get_order(uow, number)
        legs = bank_legs(uow, state.settings, order)
        uow.commit()
        if not legs:
            errors.print(f"[red]{order.number} has nothing to pay in francs by bank.[/red]")
            raise typer.Exit(1)
        bills = [(leg, qr_bill(state.settings, order, leg, state.lang)) for leg in legs]
    for leg, bill in bills:
        name = f"{order.number}.pdf" if len(bills) == 1 else f"{order.number}-{leg.id}.pdf"
        target = out / name if out.is_dir() else (out if len(bills) == 1 else out.with_name(name))
        target.write_bytes(bill.pdf)
        target.with_suffix(".png").write_bytes(bill.png)
        console.print(f"{target} and {target.with_suffix('.png')}: {leg.amount} CHF, reference {bill.reference}")


@app.command("deadlines")
def payments_deadlines(ctx: typer.Context) -> None:
    """Cancel the orders still unpaid past the payment deadline (their stock comes back)."""
    from payments.deadlines import cancel_overdue

    state = admin(ctx)
    with state.unit_of_work() as uow:
        cancelled = cancel_overdue(uow, state.settings)
        uow.commit()
    console.print(f"{len(cancelled)} order(s) cancelled: {', '.join(cancelled)}" if cancelled else "Nothing overdue.")


@app.command("refunds")
def payments_refunds(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Also those already refunded.")] = False,
) -> None:
    """Money to give back: payments in another currency, for a cancelled or already paid order, with an
    unknown reference, and the surplus of overpayments. None of it counted for any order."""
    from payments.refunds import refunds

    state = admin(ctx)
    with state.unit_of_work() as uow:
        due = refunds(uow, include_refunded=show_all)
        table = Table("id", "order", "source", "received", "to refund", "why", "payer", "state", title="Refunds")
        for credit in due:
            order = credit.leg.order.number if credit.leg is not None else "-"
            table.add_row(
                str(credit.id), order, credit.source, credit.received_at.strftime("%Y-%m-%d"),
                money(state, credit.refund_amount, credit.currency),
                REASONS.get(credit.refund_reason, credit.refund_reason),
                credit.payer or "-", credit.refund_status,
            )  # fmt: skip
    if not due:
        console.print("Nothing to refund.")
        return
    console.print(table)


@app.command("refunded")
def payments_refunded(
    ctx: typer.Context,
    credit_id: Annotated[int, typer.Argument(help="The id shown by `payments refunds`.")],
    note: Annotated[str, typer.Option(help="How it was paid back (bank transfer, e-Léman hash...).")] = "",
) -> None:
    """Mark a refund as paid back: it leaves the list and the customer is told."""
    from payments.refunds import NoSuchRefund, mark_refunded

    state = admin(ctx)
    with state.unit_of_work() as uow:
        try:
            credit = mark_refunded(uow, credit_id, note, state.settings)
        except NoSuchRefund as exc:
            errors.print(f"[red]No refund #{credit_id} is waiting.[/red]")
            raise typer.Exit(1) from exc
        uow.commit()
        console.print(f"Refund #{credit.id} marked refunded: {credit.refund_amount} {credit.currency}.")
