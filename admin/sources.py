"""`source`: the catalog feeds (DFC, schema.org, CSV) that fill vendors' catalogs, their mappings and syncs;
`catalog export`: our catalog published as DFC or schema.org JSON-LD (README, "Catalog sync")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from admin.context import admin, console, errors

if TYPE_CHECKING:
    from catalog.sync import SyncReport

app = typer.Typer(help="Catalog sources: feeds that fill vendors' catalogs, and their syncs.", no_args_is_help=True)
catalog_app = typer.Typer(help="The whole catalog, published in open formats.", no_args_is_help=True)

# The values of catalog.sources.FORMATS, spelt out so that `--help` needs no SQLAlchemy.
Format = Literal["dfc", "csv", "schema-org"]
ExportFormat = Literal["dfc", "schema-org"]
WordKind = Literal["category", "label", "unit"]
PRIVATE_HOSTS = "SMARTKET_SYNC_PRIVATE_HOSTS"  # "1": feeds may be on the local network (an own aggregator)
OUTCOMES = {
    "applied": "applied", "unchanged": "nothing to change", "dry-run": "dry run: nothing written",
    "invalid": "refused: nothing changed", "failed": "not fetched: nothing changed",
}  # fmt: skip
SHOWN_CHANGES = 50  # a dry run lists this many added/changed/withdrawn products, then counts the rest


@app.command("add")
def source_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Short name: lower-case letters, digits and '-'.")],
    vendor: Annotated[str, typer.Option(help="The vendor's slug, or the sectoral marketplace's.")],
    format: Annotated[Format, typer.Option("--format", help="The feed's format.")],
    url: Annotated[str, typer.Option(help="https:// or http:// URL, or a file path.")],
    every: Annotated[str | None, typer.Option(help="Sync on a schedule: 30m, 6h, 1d (default: by hand).")] = None,
) -> None:
    """Register a feed that fills a vendor's catalog (or many vendors', for a sectoral marketplace)."""
    from catalog.sources import add_source, format_every

    with admin(ctx).unit_of_work() as uow:
        source = add_source(uow, name, vendor, format, url, every)
        uow.commit()
        when = f"every {format_every(source.every_seconds)}" if source.every_seconds else "by hand"
        console.print(f"Source [bold]{source.name}[/bold] added for {source.vendor.slug} ({source.format}, {when}).")


@app.command("list")
def source_list(ctx: typer.Context) -> None:
    """Every source with its schedule and what its last sync did."""
    from catalog.sources import format_every, list_sources

    state = admin(ctx)
    table = Table("name", "vendor", "format", "every", "state", "last run", "outcome", "counts", "problems",
                  title="Catalog sources")  # fmt: skip
    with state.unit_of_work() as uow:
        for s in list_sources(uow):
            counts = s.last_counts or {}
            shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or ("—" if not s.last_outcome else "0")
            table.add_row(
                s.name, s.vendor.slug, s.format, format_every(s.every_seconds) or "by hand",
                "paused" if s.paused else "active",
                f"{s.last_run_at:%Y-%m-%d %H:%M}" if s.last_run_at else "never", s.last_outcome or "—",
                shown, str(len(s.last_problems or [])),
            )  # fmt: skip
    console.print(table)


@app.command("show")
def source_show(ctx: typer.Context, name: str) -> None:
    """One source: its URL, mappings and the problems of its last sync."""
    from catalog.sources import format_every, get_source

    with admin(ctx).unit_of_work() as uow:
        s = get_source(uow, name)
        console.print(f"[bold]{s.name}[/bold] — {s.vendor.name} ({s.vendor.slug}, {s.vendor.kind})")
        console.print(f"{s.format} · {s.url} · {format_every(s.every_seconds) or 'by hand'}"
                      f"{' · paused' if s.paused else ''}")  # fmt: skip
        for kind, words in sorted((s.word_map or {}).items()):
            for word, slug in sorted(words.items()):
                console.print(f"  {kind}: {word!r} -> {slug}")
        for enterprise, vendor in sorted((s.enterprise_map or {}).items()):
            console.print(f"  enterprise {enterprise} -> {vendor}")
        if s.last_run_at:
            console.print(f"Last run {s.last_run_at:%Y-%m-%d %H:%M}: {s.last_outcome} {s.last_counts}")
        for problem in s.last_problems or []:
            console.print(f"  - {problem}", markup=False)


def _set_paused(ctx: typer.Context, name: str, paused: bool) -> None:
    from catalog.sources import set_paused

    with admin(ctx).unit_of_work() as uow:
        set_paused(uow, name, paused)
        uow.commit()
    console.print(f"Source [bold]{name}[/bold] {'paused' if paused else 'resumed'}.")


@app.command("pause")
def source_pause(ctx: typer.Context, name: str) -> None:
    """Stop the scheduled syncs of a source (`source sync NAME` still runs it by hand)."""
    _set_paused(ctx, name, True)


@app.command("resume")
def source_resume(ctx: typer.Context, name: str) -> None:
    """Scheduled syncs again."""
    _set_paused(ctx, name, False)


@app.command("remove")
def source_remove(ctx: typer.Context, name: str) -> None:
    """Forget a source: its products stay, unavailable (past orders keep them)."""
    from catalog.sources import remove_source

    with admin(ctx).unit_of_work() as uow:
        withdrawn = remove_source(uow, name)
        uow.commit()
    console.print(f"Source [bold]{name}[/bold] removed; {withdrawn} of its products are now unavailable.")


@app.command("map")
def source_map(
    ctx: typer.Context,
    name: str,
    enterprise: Annotated[str, typer.Argument(help="The enterprise's id in the marketplace's feed.")],
    vendor: Annotated[str, typer.Argument(help="Our vendor's slug.")],
) -> None:
    """Confirm which of our vendors an enterprise of a sectoral marketplace's feed is."""
    from catalog.sources import map_enterprise

    with admin(ctx).unit_of_work() as uow:
        map_enterprise(uow, name, enterprise, vendor)
        uow.commit()
    console.print(f"Source {name}: enterprise {enterprise} is now {vendor}.", markup=False)


@app.command("word")
def source_word(
    ctx: typer.Context,
    name: str,
    kind: Annotated[WordKind, typer.Argument(help="What the word names.")],
    word: Annotated[str, typer.Argument(help="The source's word, e.g. 'bike parts' or 'fairtrade'.")],
    slug: Annotated[str, typer.Argument(help="Our category or label slug, or unit ('kg', '500 g').")],
) -> None:
    """Map one of the source's own words onto our taxonomy (used from its next sync on)."""
    from catalog.sources import map_word

    state = admin(ctx)
    with state.unit_of_work() as uow:
        map_word(uow, state.settings.taxonomy, name, f"{kind}s" if kind != "category" else "categories", word, slug)
        uow.commit()
    console.print(f"Source {name}: {kind} {word!r} -> {slug}.", markup=False)


@app.command("sync")
def source_sync(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One source (default: every source not paused).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the difference, change nothing.")] = False,
    due: Annotated[bool, typer.Option("--due", help="Only sources whose schedule says it is time (cron).")] = False,
) -> None:
    """Fetch, validate and apply feeds: added, changed (field by field) and withdrawn products."""
    from catalog.sources import get_source
    from catalog.sync import default_fetcher, options_for, sync_all, sync_source

    state = admin(ctx)
    options = {
        "fetcher": default_fetcher(allow_private=os.environ.get(PRIVATE_HOSTS) == "1"),
        "options": options_for(state.settings),
    }
    if name is not None:
        with state.unit_of_work() as uow:
            get_source(uow, name)  # an unknown name ends here with a clear message
        reports = [sync_source(state.app.db, name, dry_run=dry_run, **options)]  # type: ignore[arg-type]
    else:
        reports = sync_all(state.app.db, scheduled_only=due, dry_run=dry_run, **options)
    if not reports:
        console.print("No source to sync." if not due else "No source is due.")
    for report in reports:
        print_report(report)
    if any(r.outcome in ("invalid", "failed") for r in reports):
        raise typer.Exit(1)


def print_report(report: SyncReport) -> None:
    plan = report.plan
    title = OUTCOMES[report.outcome]
    out = errors if report.outcome in ("invalid", "failed") else console
    out.print(f"[bold]{report.source}[/bold]: {title}")
    if report.error:
        out.print(f"  {report.error}", markup=False)
    if plan is None:
        return
    counts = plan.counts
    out.print("  " + ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in counts), markup=False)
    for enterprise in plan.enterprises:
        if enterprise.status != "mapped":
            verb = "new pending vendor" if enterprise.status == "new" else "looks like"
            out.print(f"  enterprise {enterprise.name!r} ({enterprise.enterprise_id}): {verb} {enterprise.vendor}",
                      markup=False)  # fmt: skip
    if report.outcome in ("dry-run", "applied"):
        for sign, changes in (("+", plan.added), ("~", plan.changed), ("-", plan.withdrawn)):
            for change in changes[:SHOWN_CHANGES]:
                out.print(f"  {sign} {change.vendor}/{change.sku} {change.name}", markup=False)
                if sign == "~":
                    for field in change.changes:
                        out.print(f"      {field.field}: {field.old!r} -> {field.new!r}", markup=False)
            if len(changes) > SHOWN_CHANGES:
                out.print(f"  {sign} … and {len(changes) - SHOWN_CHANGES} more", markup=False)
    if plan.to_classify:
        out.print(f"  {len(plan.to_classify)} product(s) to classify: `product unclassified`", markup=False)
    for problem in report.problems:
        out.print(f"  ! {problem}", markup=False)
    for warning in plan.warnings[:SHOWN_CHANGES]:
        out.print(f"  ? {warning}", markup=False)


@catalog_app.command("export")
def catalog_export(
    ctx: typer.Context,
    format: Annotated[ExportFormat, typer.Option("--format", help="dfc (DFC JSON-LD) or schema-org.")] = "dfc",
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's catalog.")] = None,
    output: Annotated[Path | None, typer.Option(help="Write to this file (default: standard output).")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Public URL the @ids start with (default: $CATALOG_PUBLIC_URL).")
    ] = None,
) -> None:
    """Our catalog (approved vendors' available products) as DFC or schema.org JSON-LD."""
    import json

    from catalog.sources import export_catalog, public_base_url

    state = admin(ctx)
    with state.unit_of_work() as uow:
        document = export_catalog(
            uow, format, base_url or public_base_url(os.environ), vendor, state.settings.vat_rates
        )
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Catalog written to {output} ({format}).", markup=False)
