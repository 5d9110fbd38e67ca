"""`db` and `demo`: the database schema, and the Geneva demo catalog."""

from __future__ import annotations

import typer

from admin.context import admin, console, progress

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo catalog.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the database schema to the latest version."""
    from marketplace import migrate

    state = admin(ctx)
    migrate.upgrade(state.app.db)
    revision = migrate.current_revision(state.app.db)
    console.print(f"Database at revision [bold]{revision}[/bold] ({state.database_url()})")


@demo_app.command("load")
def demo_load(ctx: typer.Context) -> None:
    """Load the Geneva demo vendors, products and chat accounts (idempotent)."""
    from admin.products import print_import_errors
    from demo import load_demo
    from marketplace import migrate

    state = admin(ctx)
    migrate.upgrade(state.app.db)
    with state.unit_of_work() as uow, progress() as bar:
        task = bar.add_task("Demo catalog", total=None)
        # The terminal chat's people (terminal:admin among them) exist in the demo deployment only.
        chat_accounts = state.settings.demo
        report = load_demo(
            uow, lambda done, total: bar.update(task, completed=done, total=total), chat_accounts=chat_accounts
        )
        if not report.ok:
            print_import_errors(report)
            raise typer.Exit(1)
        uow.commit()
    if not chat_accounts:
        console.print("No terminal chat accounts: they exist in the demo deployment only (SMARTKET_DEMO=1, make demo).")
    console.print(f"Demo catalog: {report.created} products created, {report.updated} updated.")
