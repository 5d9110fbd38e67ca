"""`product`: the catalog's products and services, CSV import and export, and search as a shopper would."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from admin.context import AdminContext, admin, console, errors, progress

if TYPE_CHECKING:
    from catalog.csv_io import ImportReport
    from catalog.models import Product
    from marketplace.db import UnitOfWork

app = typer.Typer(help="Products and services of the catalog.", no_args_is_help=True)


def product_ref(uow: UnitOfWork, ref: str) -> Product:
    """`vendor/sku` or a numeric product id."""
    from catalog.services import find_product, get_product

    if ref.isdigit():
        return get_product(uow, int(ref))
    vendor, _, sku = ref.partition("/")
    return find_product(uow, vendor, sku)


@app.command("add")
def product_add(
    ctx: typer.Context,
    vendor: Annotated[str, typer.Option(help="Vendor slug.")],
    sku: Annotated[str, typer.Option()],
    name_fr: Annotated[str, typer.Option()],
    category: Annotated[str, typer.Option(help="A category slug, or any word the taxonomy maps onto one.")],
    unit: Annotated[str, typer.Option(help="piece, kg, l, hour or a pack such as '500 g'.")],
    price: Annotated[str, typer.Option(help="Price in CHF, VAT included.")],
    vat_class: Annotated[str, typer.Option(help="reduced or standard.")] = "reduced",
    stock: Annotated[str, typer.Option()] = "0",
    name_de: Annotated[str, typer.Option()] = "",
    name_it: Annotated[str, typer.Option()] = "",
    name_en: Annotated[str, typer.Option()] = "",
    labels: Annotated[str, typer.Option(help="Label slugs (or words) separated by ';'.")] = "",
    origin: Annotated[str, typer.Option(help="Place (N km).")] = "",
) -> None:
    """Add one product or service (or update it if the vendor already has this SKU)."""
    from catalog.csv_io import parse_origin
    from catalog.services import ProductDraft, parse_decimal, upsert_product

    state = admin(ctx)
    taxonomy = state.settings.taxonomy
    with state.unit_of_work() as uow:
        place, km = parse_origin(origin)
        draft = ProductDraft(
            vendor=vendor,
            sku=sku,
            names={"fr": name_fr, "de": name_de, "it": name_it, "en": name_en},
            # Words the taxonomy knows ("Mehl", "fairtrade") become our slugs; others stay, and are refused below.
            category=taxonomy.category_slug(category) or category,
            unit=unit,
            price_chf=parse_decimal(price, "price"),
            vat_class=vat_class,
            stock=parse_decimal(stock, "stock"),
            labels=[taxonomy.label_slug(s) or s for s in labels.split(";") if s],
            origin_place=place,
            origin_km=km,
        )
        product, created = upsert_product(uow, draft, taxonomy=taxonomy)
        uow.commit()
        console.print(f"Product #{product.id} {vendor}/{sku} {'created' if created else 'updated'}.")


@app.command("update")
def product_update(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="vendor/sku or product id.")],
    price: Annotated[str | None, typer.Option(help="New price in CHF.")] = None,
    stock: Annotated[str | None, typer.Option(help="New stock.")] = None,
    available: Annotated[bool | None, typer.Option("--available/--unavailable")] = None,
    photo: Annotated[
        str | None, typer.Option(help="An https URL, or a file name in the media folder; '' removes the photo.")
    ] = None,
) -> None:
    """Change a product's price, stock, availability or photo."""
    from dataclasses import replace

    from catalog.csv_io import draft_of
    from catalog.services import parse_decimal, upsert_product

    state = admin(ctx)
    with state.unit_of_work() as uow:
        product = product_ref(uow, ref)
        changes: dict[str, object] = {}
        if price is not None:
            changes["price_chf"] = parse_decimal(price, "price")
        if stock is not None:
            changes["stock"] = parse_decimal(stock, "stock")
        if available is not None:
            changes["available"] = available
        if photo is not None:
            changes["photo_url"] = photo
        media_dir = state.settings.media_dir  # a refused photo ends the command with MediaRefused's message
        upsert_product(
            uow, replace(draft_of(product), **changes), source=product.source, media_dir=media_dir,
            taxonomy=state.settings.taxonomy,
        )  # fmt: skip
        uow.commit()
    _show(state, ref)


@app.command("list")
def product_list(
    ctx: typer.Context,
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's products.")] = None,
) -> None:
    """Products with price, stock and labels."""
    from catalog.services import list_products
    from catalog.taxonomy import format_quantity

    state = admin(ctx)
    with state.unit_of_work() as uow:
        views = list_products(uow, state.lang, vendor, state.settings.taxonomy)
    table = Table("id", "vendor/sku", "name", "unit", "price", "stock", "labels", title=f"Products ({len(views)})")
    for v in views:
        stock = format_quantity(v.stock) if v.available else "unavailable"
        table.add_row(
            str(v.id), f"{v.vendor_slug}/{v.sku}", v.name, v.unit, state.chf(v.price.amount), stock, ", ".join(v.labels)
        )
    console.print(table)


def _show(state: AdminContext, ref: str) -> None:
    from catalog.csv_io import format_origin
    from catalog.services import view_product
    from catalog.taxonomy import format_quantity

    with state.unit_of_work() as uow:
        v = view_product(product_ref(uow, ref), state.lang, state.settings.taxonomy)
    lines = [
        f"[bold]{v.name}[/bold]  —  {v.vendor_name} ({v.vendor_slug}/{v.sku}, #{v.id})",
        v.description,
        f"{v.category_name or f'TO CLASSIFY (source word {v.classify_word!r}), offered to nobody'} · {v.kind}"
        f" · {state.chf(v.price.amount)} / {v.unit} · VAT {v.vat_class}",
        f"Stock: {format_quantity(v.stock)}{'' if v.available else ' (unavailable)'}"
        f" · Léman accepted: {v.leman_share_pct} %",
        f"Labels: {', '.join(v.label_names) or '—'}",
        f"Origin: {format_origin(v.origin_place, v.origin_km) or '—'}",
    ]
    if v.photo_url:
        lines.append(f"Photo: {v.photo_url}")
    console.print(Panel("\n".join(line for line in lines if line), title="Product"))


@app.command("show")
def product_show(ctx: typer.Context, ref: Annotated[str, typer.Argument(help="vendor/sku or product id.")]) -> None:
    """Everything about one product."""
    _show(admin(ctx), ref)


def print_import_errors(report: ImportReport) -> None:
    table = Table("line", "problem", title=f"{len(report.errors)} problem(s): nothing was imported")
    for error in report.errors:
        table.add_row(str(error.line), error.message)
    errors.print(table)


@app.command("import")
def product_import(ctx: typer.Context, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import products from CSV (all rows or none; re-import updates in place)."""
    from catalog.csv_io import import_file

    state = admin(ctx)
    with state.unit_of_work() as uow, progress() as bar:
        task = bar.add_task(f"Importing {file.name}", total=None)
        report = import_file(
            uow, file, media_dir=state.settings.media_dir, taxonomy=state.settings.taxonomy,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
        if not report.ok:
            bar.stop()
            print_import_errors(report)
            raise typer.Exit(1)
        uow.commit()
    console.print(f"{report.rows} rows: {report.created} created, {report.updated} updated.")
    print_import_notes(report)


def print_import_notes(report: ImportReport) -> None:
    """What was imported but needs an admin: products to classify, label words left out."""
    if report.to_classify:
        table = Table("line", "vendor/sku", "source word", title=f"{len(report.to_classify)} product(s) to classify")
        for item in report.to_classify:
            table.add_row(str(item.line), f"{item.vendor}/{item.sku}", item.word or "—")
        console.print(table)
        console.print("Offered to nobody until classified: admin_cli.py product classify SKU --vendor SLUG CATEGORY")
    for note in report.dropped_labels:
        console.print(f"line {note.line}: label {note.word!r} matches none of ours; left out")


@app.command("unclassified")
def product_unclassified(
    ctx: typer.Context, vendor: Annotated[str | None, typer.Option(help="Only this vendor's products.")] = None
) -> None:
    """Products imported with a category none of ours matched: offered to nobody until classified."""
    from catalog.services import list_products

    state = admin(ctx)
    with state.unit_of_work() as uow:
        views = list_products(uow, state.lang, vendor, state.settings.taxonomy, to_classify=True)
    table = Table("id", "vendor/sku", "name", "source word", "unit", title=f"Products to classify ({len(views)})")
    for v in views:
        table.add_row(str(v.id), f"{v.vendor_slug}/{v.sku}", v.name, v.classify_word or "—", v.unit)
    console.print(table)


@app.command("classify")
def product_classify(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The product's SKU.")],
    category: Annotated[str, typer.Argument(help="A category slug, or any word the taxonomy maps onto one.")],
    vendor: Annotated[str, typer.Option(help="Vendor slug.")],
) -> None:
    """Give a product its category; a product to classify is then offered to consumers."""
    from catalog.services import classify_product

    state = admin(ctx)
    with state.unit_of_work() as uow:
        product = classify_product(uow, vendor, sku, category, state.settings.taxonomy)
        uow.commit()
        slug = product.category
    console.print(f"{vendor}/{sku} classified as {slug!r}.")


@app.command("export")
def product_export(ctx: typer.Context, file: Annotated[Path, typer.Argument(dir_okay=False)]) -> None:
    """Export the whole catalog to CSV (the import format)."""
    from catalog.csv_io import export_products
    from catalog.services import catalog_counts

    with admin(ctx).unit_of_work() as uow:
        file.write_text(export_products(uow), encoding="utf-8")
        count = catalog_counts(uow)["products"]
    console.print(f"{count} products written to {file}.")


@app.command("search")
def product_search(
    ctx: typer.Context,
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
    import json

    from catalog.services import ProductFilters, parse_decimal
    from catalog.taxonomy import format_quantity

    state = admin(ctx)
    lang = lang or state.lang
    with state.unit_of_work() as uow:
        filters = ProductFilters(
            category=category,
            label=label,
            vendor=vendor,
            max_price=parse_decimal(max_price, "max_price") if max_price else None,
            in_stock_only=in_stock,
        )
        results = state.app.search.search(uow, query, lang, filters, limit)
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
            str(rank), f"{r.score:.0f}", v.name, v.vendor_name, f"{state.chf(v.price.amount, lang)} / {v.unit}",
            format_quantity(v.stock), ", ".join(v.label_names),
        )  # fmt: skip
    console.print(table)
