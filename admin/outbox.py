"""`outbox`: notifications that could not be delivered (or all of them), and sending one again."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from admin.context import admin, console, errors

app = typer.Typer(help="Notifications waiting, sent, or that could not be delivered.", no_args_is_help=True)


@app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="pending, sending, sent, failed, in_doubt, unreachable.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every message, not only those needing attention.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Notifications that could not be delivered (default), or all of them."""
    from marketplace.outbox import list_messages, needing_attention

    everything = bool(status or all_)
    with admin(ctx).unit_of_work() as uow:
        rows = list_messages(uow, status, limit) if everything else needing_attention(uow, limit)
        title = "Outbox" if everything else "Outbox: messages needing attention"
        table = Table("id", "created (UTC)", "kind", "to", "status", "attempts", "last error", title=title)
        for m in rows:
            to = f"{m.platform}:{m.destination}" if m.platform else f"person #{m.person_id}"
            table.add_row(
                str(m.id), f"{m.created_at:%Y-%m-%d %H:%M}", m.kind, to, m.status, str(m.attempts), m.last_error[:60]
            )
    console.print(table)
    if not rows and not everything:
        console.print("Every notification was delivered or is on its way.")


@app.command("retry")
def outbox_retry(ctx: typer.Context, message_id: int) -> None:
    """Send a failed, in-doubt or unreachable message again (to the person's current chat address)."""
    from marketplace.outbox import requeue

    with admin(ctx).unit_of_work() as uow:
        row = requeue(uow, message_id)
        uow.commit()
        if row is None:
            errors.print(f"[red]No failed, in-doubt or unreachable message #{message_id}.[/red]")
            raise typer.Exit(1)
        console.print(f"Message #{message_id}: {row.status} ({row.platform or 'still no chat address'}).")
