"""Admin command line of SmartketPlace chat: database, vendors, catalog, imports, orders, reports.

python admin_cli.py --help

This file only assembles the command groups of the `admin/` package; the deployment and the language chosen
here reach the commands through Typer's context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from admin import database, delivery, dialogue, keys, orders, outbox, payments, privacy, products, reports, vendors
from admin import sources as catalog_sources
from admin.context import AdminContext, default_language

cli = typer.Typer(help="Run a SmartketPlace chat marketplace.", no_args_is_help=True, pretty_exceptions_enable=False)


@cli.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option(help="Deployment file (default: $SMARTKET_CONFIG or config/geneva.toml).")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of product names and messages.")] = default_language(),
) -> None:
    ctx.obj = AdminContext(config, lang)
    ctx.call_on_close(ctx.obj.close)


cli.command("stats")(reports.stats)
for name, group in [
    ("db", database.db_app),
    ("demo", database.demo_app),
    ("vendor", vendors.app),
    ("product", products.app),
    ("order", orders.app),
    ("nlu", dialogue.nlu_app),
    ("rasa", dialogue.rasa_app),
    ("actions", dialogue.actions_app),
    ("outbox", outbox.app),
    ("delivery", delivery.app),
    ("payments", payments.app),
    ("keys", keys.app),
    ("privacy", privacy.app),
    ("report", reports.report_app),
    ("source", catalog_sources.app),
    ("catalog", catalog_sources.catalog_app),
]:
    cli.add_typer(group, name=name)


if __name__ == "__main__":
    cli()
