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
