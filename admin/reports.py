"""`stats`: the marketplace at a glance (what it counts is computed in `checkout/reports.py`)."""

from __future__ import annotations

import typer
from rich.table import Table

from admin.context import admin, console


def stats(ctx: typer.Context) -> None:
    """Vendors, products, stock and sales at a glance."""
    from catalog.taxonomy import format_quantity
    from checkout.reports import marketplace_stats

    state = admin(ctx)
    with state.unit_of_work() as uow:
        figures = marketplace_stats(uow)
    settings = state.settings
    summary = Table(title=f"{settings.name} — {settings.slug}", show_header=False)
    summary.add_row("Organisations", str(figures.organisations))
    summary.add_row("Products and services", str(figures.products))
    summary.add_row("Out of stock", str(figures.out_of_stock))
    summary.add_row("Orders", str(figures.orders))
    summary.add_row("Goods sold", state.chf(figures.goods_sold))
    summary.add_row("Database", state.database_url())
    console.print(summary)
    table = Table("category", "products", "stock", title="Catalog by category")
    for line in figures.by_category:
        table.add_row(line.category, str(line.products), format_quantity(line.stock))
    console.print(table)


report_app = typer.Typer(help="Reports on the marketplace's money.", no_args_is_help=True)


@report_app.command("value-split")
def value_split(
    ctx: typer.Context,
    month: str = typer.Option(..., help="The month, YYYY-MM (orders placed in it, in the deployment's timezone)."),
    csv: bool = typer.Option(False, "--csv", help="Print CSV (amounts as plain decimals) instead of a table."),
) -> None:
    """Who received what of a month's orders: producers, delivery companies, the cooperative, in CHF and Léman."""
    from checkout.earnings import parse_month
    from checkout.earnings import value_split as split_of

    state = admin(ctx)
    settings = state.settings
    with state.unit_of_work() as uow:
        split = split_of(uow, parse_month(month), settings.timezone, (settings.slug, settings.name))
    currency = settings.local_currency.name
    if csv:
        import csv as csv_module
        import sys

        writer = csv_module.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["month", "kind", "slug", "name", "orders", "chf", "local_currency", "total"])
        for line in split.lines:
            chf, leman, total = line.amount.chf, line.amount.leman, line.amount.total
            writer.writerow([month, line.kind, line.slug, line.name, line.orders, chf, leman, total])
        paid = split.paid_by_customers
        writer.writerow([month, "total", "", "paid by customers", "", paid.chf, paid.leman, paid.total])
        return
    from marketplace.i18n import format_chf

    table = Table("who", "name", "orders", "CHF", currency, "total", title=f"{settings.name} — value split {month}")
    rows = [(line.kind, line.name, str(line.orders), line.amount) for line in split.lines]
    rows.append(("total", "paid by customers", "", split.paid_by_customers))
    for kind, name, orders, amount in rows:
        leman = format_chf(amount.leman, state.lang, currency)
        table.add_row(kind, name, orders, state.chf(amount.chf), leman, state.chf(amount.total))
    console.print(table)
