"""`privacy`: requests that arrive by letter or e-mail (a person's copy of their data, their erasure) through the
same code as the chat's `/mydata` and `/forget`, and the inventory of the personal data held (`report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from admin.context import admin, console

app = typer.Typer(
    help="Personal data: a person's copy, their erasure, what is held and for how long.", no_args_is_help=True
)

PersonArgument = Annotated[
    str, typer.Argument(help="Their number (#12), a chat address (telegram:123) or a unique name.")
]

# How `privacy report` words each category of `privacy.inventory`, and the rule that bounds it ({limit}: the
# value of its [privacy] setting).
CATEGORIES = {
    "accounts": ("accounts (display name, language)", "until the person erases it (/forget, privacy erase)"),
    "chat_identities": ("chat identities (Telegram, Matrix ids)", "with the account"),
    "conversations": ("conversation events (Rasa tracker)", "{limit} days, and deleted at erasure"),
    "baskets": ("baskets", "{limit} days after their last change, and deleted at erasure"),
    "saved_addresses": ("saved delivery addresses", "until the person deletes them or the account"),
    "order_addresses": (
        "delivery addresses of orders",
        "{limit} days after delivery or cancellation (then postal code and locality only), and at erasure",
    ),
    "orders": (
        "orders linked to a person",
        "the link to the person until erasure, or {limit} years after the end of the order's year (the order stays)",
    ),
    "payers": (
        "payers' bank accounts (credits)",
        "{limit} years after the end of the order's year; removed at erasure unless a refund is due",
    ),
    "leman_senders": ("e-Léman sender wallets", "{limit} years after the end of the order's year, or erasure"),
    "payment_files": ("payment files (QR-bills, e-Léman QR codes)", "{limit} days"),
    "messages": ("messages sent to people (outbox)", "until the recipient's account is erased"),
    "link_codes": ("link codes (who redeemed them)", "{limit} days after their expiry"),
    "vendor_changes": ("vendor changes with their author", "with the vendor's audit trail; unlinked at erasure"),
}


@app.command("export")
def privacy_export(
    ctx: typer.Context,
    person: PersonArgument,
    output: Annotated[
        Path | None, typer.Option(help="Write the JSON file here (readable by its owner only); default: print it.")
    ] = None,
) -> None:
    """Everything held about one person, as JSON: the copy they are entitled to (right of access, portability)."""
    from marketplace.clock import utcnow
    from privacy.export import export_file, export_json, export_person
    from privacy.people import find_person

    with admin(ctx).unit_of_work() as uow:
        who = find_person(uow, person)
        if output is None:
            typer.echo(export_json(export_person(uow, who, utcnow())).decode("utf-8"), nl=False)
            return
        number, path = who.id, export_file(uow, who, output, utcnow())
    console.print(f"Personal data of #{number} written to {path} (readable by its owner only).", markup=False)


@app.command("erase")
def privacy_erase(
    ctx: typer.Context,
    person: PersonArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person: personal data deleted, their orders kept anonymised for the accounting period. Refused
    while an order of theirs is under way."""
    from marketplace.clock import utcnow
    from privacy.erase import erase_person, erasure_message, open_orders
    from privacy.people import find_person

    state = admin(ctx)
    with state.unit_of_work() as uow:  # closed before the question: no transaction waits for the admin's answer
        who = find_person(uow, person)
        number, language = who.id, who.language
        label = f"#{number} {who.display_name}".rstrip()
        summary = f"{label}: {len(who.identities)} chat identities, {len(who.memberships)} memberships"
        under_way = ", ".join(order.number for order in open_orders(uow, who))
    if not yes:
        console.print(summary + (f"; orders under way: {under_way}" if under_way else ""), markup=False)
        typer.confirm(f"Erase {label} for good?", abort=True)
    with state.unit_of_work() as uow:
        who = find_person(uow, f"#{number}")
        report = erase_person(uow, who, utcnow(), accounting_years=state.settings.privacy.accounting_years)
        uow.commit()
    table = Table("deleted", "records", title=f"#{number} erased")
    for kind, count in report.deleted.items():
        table.add_row(kind.replace("_", " "), str(count))
    console.print(table)
    if report.kept_orders:
        console.print(
            f"Kept anonymised (accounting, {report.accounting_years} years, until {report.kept_until:%Y-%m-%d}): "
            + ", ".join(report.kept_orders)
        )
    console.print(f"Message for the person ({language}):\n{erasure_message(report, language)}", markup=False)


@app.command("purge")
def privacy_purge(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what is due; change nothing.")] = False,
) -> None:
    """Delete or clear the personal data past its retention ([privacy] settings), as the bot process does every
    purge_every_hours. In batches: safe to interrupt and to run again."""
    from marketplace.clock import utcnow
    from privacy.retention import purge

    state = admin(ctx)
    with state.unit_of_work() as uow:
        report = purge(uow, state.settings, utcnow(), dry_run=dry_run)
    table = Table("records", "due" if dry_run else "deleted or cleared", title="Privacy purge")
    for kind, count in report.counts().items():
        table.add_row(kind.replace("_", " "), str(count))
    console.print(table)
    if dry_run:
        console.print("Dry run: nothing was changed.")


@app.command("report")
def privacy_report(ctx: typer.Context) -> None:
    """The categories of personal data held, how many records, the oldest, how long each is kept."""
    from privacy.inventory import personal_data_inventory

    state = admin(ctx)
    with state.unit_of_work() as uow:
        categories = personal_data_inventory(uow, state.settings)
    table = Table(
        "personal data", "records", "oldest (UTC)", "kept", "setting", title=f"Personal data — {state.settings.name}"
    )
    for category in categories:
        label, rule = CATEGORIES[category.key]
        oldest = f"{category.oldest:%Y-%m-%d}" if category.oldest else "-"
        setting = f"privacy.{category.setting} = {category.limit}" if category.setting else "-"
        table.add_row(label, str(category.records), oldest, rule.format(limit=category.limit), setting)
    console.print(table)
