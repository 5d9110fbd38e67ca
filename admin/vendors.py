"""`vendor`: producers, shops, delivery companies and sectoral marketplaces; their members and link codes; the
audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.panel import Panel
from rich.table import Table

from admin.context import admin, console

if TYPE_CHECKING:
    from marketplace.accounts import ApprovalStatus

app = typer.Typer(help="Vendors, delivery companies and sectoral marketplaces.", no_args_is_help=True)

# The values of `marketplace.accounts.OrganisationKind`, spelt out so that building the command line (and so
# `--help`) needs no SQLAlchemy; tests/integration/test_admin_cli.py keeps them equal.
Kind = Literal["producer", "shop", "service", "delivery", "marketplace"]


@app.command("add")
def vendor_add(
    ctx: typer.Context,
    slug: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    kind: Annotated[Kind, typer.Option(help="What the organisation is.")],
    pending: Annotated[bool, typer.Option(help="Wait for approval instead of approving now.")] = False,
    leman_share: Annotated[int, typer.Option(help="Share of prices accepted in local currency (0-100).")] = 0,
    place: Annotated[str, typer.Option(help="Commune or town.")] = "",
) -> None:
    """Register a producer, shop, delivery company or sectoral marketplace."""
    from marketplace.accounts import OrganisationKind, add_organisation

    with admin(ctx).unit_of_work() as uow:
        org = add_organisation(
            uow, slug, name, OrganisationKind(kind), pending=pending, leman_share_pct=leman_share, place=place
        )
        uow.commit()
        console.print(f"Vendor [bold]{org.slug}[/bold] added ({org.kind}, {org.status}).")


def _set_status(ctx: typer.Context, slug: str, status: ApprovalStatus) -> None:
    from marketplace.accounts import set_organisation_status

    with admin(ctx).unit_of_work() as uow:
        set_organisation_status(uow, slug, status)
        uow.commit()
    console.print(f"Vendor [bold]{slug}[/bold] is now {status}.")


@app.command("approve")
def vendor_approve(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="An application's number (12 or #12, see `applications`), or a slug.")],
) -> None:
    """Approve an application (the organisation is created, its applicant becomes the owner and is told), or a
    pending or suspended vendor: its products become visible, its members may act for it again."""
    from marketplace.accounts import ApprovalStatus

    number = target.removeprefix("#")
    if number.isdigit():
        from marketplace.applications import approve_application

        with admin(ctx).unit_of_work() as uow:
            org = approve_application(uow, int(number), None)
            uow.commit()
            console.print(f"Application #{number} approved: [bold]{org.slug}[/bold] ({org.kind}) is open.")
        return
    _set_status(ctx, target, ApprovalStatus.APPROVED)


@app.command("refuse")
def vendor_refuse(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The application's number (12 or #12).")],
    reason: Annotated[str, typer.Option(help="Why, in a sentence the applicant will read.")],
) -> None:
    """Refuse an application; the applicant is told, with the reason."""
    from marketplace.applications import refuse_application

    if not number.removeprefix("#").isdigit():
        raise typer.BadParameter("an application's number, such as 12", param_hint="NUMBER")
    with admin(ctx).unit_of_work() as uow:
        refuse_application(uow, int(number.removeprefix("#")), None, reason)
        uow.commit()
    console.print(f"Application #{number.removeprefix('#')} refused; the applicant will be told.")


@app.command("applications")
def vendor_applications(
    ctx: typer.Context,
    number: Annotated[str | None, typer.Argument(help="Show this application in full.")] = None,
) -> None:
    """Applications waiting for a decision (or one in full, with its address and IBAN)."""
    from marketplace.applications import application_details, get_application, kind_name, pending_applications

    lang = admin(ctx).lang
    with admin(ctx).unit_of_work() as uow:
        if number is not None:
            if not number.removeprefix("#").isdigit():
                raise typer.BadParameter("an application's number, such as 12", param_hint="NUMBER")
            application = get_application(uow, int(number.removeprefix("#")))
            status = f"{application.status} {application.refusal_reason}".strip()
            title = f"Application #{application.id} ({status})"
            console.print(Panel(application_details(application, lang), title=title))
            return
        table = Table("#", "received (UTC)", "kind", "trade name", "UID", "Léman %", title="Applications waiting")
        for application in pending_applications(uow):
            table.add_row(
                f"#{application.id}", f"{application.created_at:%Y-%m-%d %H:%M}", kind_name(application.kind, lang),
                application.trade_name, application.uid or "-", str(application.leman_share_pct),
            )  # fmt: skip
    console.print(table)


@app.command("suspend")
def vendor_suspend(ctx: typer.Context, slug: str) -> None:
    """Suspend a vendor or delivery company: its products disappear from search and cannot be ordered, its
    members can no longer act for it (from their next message), and its open link codes are revoked."""
    from marketplace.accounts import ApprovalStatus

    _set_status(ctx, slug, ApprovalStatus.SUSPENDED)


@app.command("list")
def vendor_list(ctx: typer.Context) -> None:
    """All organisations with their status and product count."""
    from checkout.reports import products_per_vendor
    from marketplace.accounts import list_organisations

    with admin(ctx).unit_of_work() as uow:
        counts = products_per_vendor(uow)
        table = Table("slug", "name", "kind", "status", "place", "Léman %", "products", title="Vendors")
        for org in list_organisations(uow):
            table.add_row(
                org.slug, org.name, org.kind, org.status, org.place, str(org.leman_share_pct),
                str(counts.get(org.id, 0)),
            )  # fmt: skip
    console.print(table)


@app.command("invite")
def vendor_invite(
    ctx: typer.Context,
    slug: str,
    days: Annotated[int, typer.Option(min=1, max=90, help="Days the code stays valid.")] = 7,
) -> None:
    """A one-time code that links a member's chat account to this vendor or delivery company (`/link CODE`)."""
    from datetime import timedelta

    from marketplace.accounts import OrganisationKind, get_organisation
    from marketplace.linking import create_link_code

    with admin(ctx).unit_of_work() as uow:
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


@app.command("members")
def vendor_members(
    ctx: typer.Context,
    slug: str,
    show_ids: Annotated[bool, typer.Option(help="Also show each member's chat ids (personal data).")] = False,
) -> None:
    """Who acts for a vendor or delivery company: number (for `remove-member`), name, role, chat platforms."""
    from marketplace.accounts import get_organisation, members_of

    with admin(ctx).unit_of_work() as uow:
        org = get_organisation(uow, slug)
        members = members_of(uow, slug)
        title = f"Members of {org.name} ({org.status})"
    columns = ["#", "name", "role", "account", "platforms"] + (["chat ids"] if show_ids else [])
    table = Table(*columns, title=title)
    for member in members:
        cells = [f"#{member.person_id}", member.display_name or "-", member.role, member.status,
                 ", ".join(member.platforms)]  # fmt: skip
        table.add_row(*cells, *([", ".join(member.addresses)] if show_ids else []))
    console.print(table)


@app.command("remove-member")
def vendor_remove_member(
    ctx: typer.Context,
    slug: str,
    person: Annotated[str, typer.Argument(help="Their number from `vendor members` (#12), chat address or name.")],
) -> None:
    """Take a person out of a vendor or delivery company; it counts from their next message."""
    from marketplace.accounts import remove_member

    with admin(ctx).unit_of_work() as uow:
        removed = remove_member(uow, slug, person)
        uow.commit()
    console.print(f"#{removed.person_id} {removed.display_name or ''}".rstrip() + f" no longer acts for {slug}.")


@app.command("revoke-codes")
def vendor_revoke_codes(ctx: typer.Context, slug: str) -> None:
    """Revoke every link code of a vendor or delivery company not used yet."""
    from marketplace.accounts import get_organisation
    from marketplace.linking import revoke_link_codes

    with admin(ctx).unit_of_work() as uow:
        count = revoke_link_codes(uow, get_organisation(uow, slug))
        uow.commit()
    console.print(f"{count} open link code{'' if count == 1 else 's'} of {slug} revoked.")


@app.command("audit")
def vendor_audit(
    ctx: typer.Context,
    slug: Annotated[str | None, typer.Argument(help="Only this vendor.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Who changed which stock, price or availability, when, from what to what."""
    from checkout.reports import audit_lines

    with admin(ctx).unit_of_work() as uow:
        table = Table("when (UTC)", "who", "vendor", "sku", "field", "old", "new", title="Vendor changes")
        for line in audit_lines(uow, slug, limit):
            entry, who = line.entry, line.actor
            table.add_row(
                f"{entry.at:%Y-%m-%d %H:%M:%S}", (who.display_name or f"#{who.id}") if who else "-",
                line.vendor.slug if line.vendor else "-", entry.sku, entry.field, entry.old_value, entry.new_value,
            )  # fmt: skip
    console.print(table)
