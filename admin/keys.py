"""`keys`: the keys that seal personal delivery data at rest (marketplace.crypto): create, status, rotate, retire.

Rotating makes a new current key, then re-encrypts every sealed column in place, a batch of rows per
transaction; stopped anywhere, `keys rotate --resume` finishes it. An old key stays until `keys retire` (refused
while values still use it). Running servers read the changed key file again by themselves.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from admin.context import AdminContext, admin, console, errors, progress

if TYPE_CHECKING:
    from marketplace.crypto import EncryptedTable, KeyStore

app = typer.Typer(help="The keys that encrypt personal delivery data at rest.", no_args_is_help=True)


def sealed_tables() -> list[EncryptedTable]:
    """Every table with sealed columns. The modules declaring them are imported here: add a new one here."""
    import checkout.address_book
    import checkout.models  # noqa: F401
    from marketplace.crypto import encrypted_tables
    from marketplace.db import Base

    return encrypted_tables(Base.metadata)


def _store(state: AdminContext) -> KeyStore:
    from marketplace.crypto import KeyStore

    keys = state.app.keys
    if not isinstance(keys, KeyStore):  # an app built by hand (tests) has a bare ring
        errors.print("[red]This marketplace has no data key store.[/red]")
        raise typer.Exit(2)
    return keys


@app.command("init")
def keys_init(ctx: typer.Context) -> None:
    """Create the data key file (readable by its owner only) when there is none; the demo does it by itself."""
    from marketplace.crypto import DATA_KEYS, init_key_file
    from marketplace.settings import SettingsError, load_settings

    try:
        settings = load_settings(admin(ctx).config)  # not the app: it refuses to start without a key
    except SettingsError as exc:
        errors.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if os.environ.get(DATA_KEYS.env, "").strip():
        console.print(f"The data keys come from ${DATA_KEYS.env}: no file is needed.")
        return
    path, created = init_key_file(settings.data_dir)
    if created:
        console.print(f"Data key file created: {path} (readable by its owner only).")
        console.print("Back it up apart from the database: without it the delivery addresses cannot be read.")
    else:
        console.print(f"The data key file already exists: {path}")


@app.command("status")
def keys_status(ctx: typer.Context) -> None:
    """Where the keys come from, and how many rows each key id seals, table by table."""
    from rich.table import Table

    from marketplace.crypto import rows_per_key

    state = admin(ctx)
    store = _store(state)
    ring = store.fresh()
    counts = rows_per_key(state.app.db.engine, sealed_tables(), ring)
    console.print(f"Data keys from {store.source}; current key: [bold]{ring.current.kid}[/bold]")
    table = Table("table", *(f"{kid} (current)" if kid == ring.current.kid else kid for kid in ring.kids), "unknown")
    for name, per_key in counts.items():
        table.add_row(name, *(str(per_key[kid]) for kid in ring.kids), str(per_key["unknown"]))
    console.print(table)
    older = sum(per_key[kid] for per_key in counts.values() for kid in ring.kids[1:])
    unknown = sum(per_key["unknown"] for per_key in counts.values())
    if older:
        console.print(f"{older} rows use an older key: `keys rotate --resume` re-encrypts them under the current one.")
    if unknown:
        errors.print(f"[red]{unknown} rows use a key that is not in the ring: they cannot be read.[/red]")


@app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    resume: Annotated[
        bool, typer.Option(help="Finish a rotation that was stopped, without making another key.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows re-encrypted per transaction.")] = 200,
) -> None:
    """Make a new current key, then re-encrypt every sealed value under it (safe to stop and resume)."""
    from marketplace.crypto import DataKeysError, UnreadableData, reencrypt, rotate_key, rows_to_reencrypt

    state = admin(ctx)
    store = _store(state)
    engine = state.app.db.engine
    try:
        ring = store.fresh() if resume else rotate_key(store)
    except DataKeysError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if not resume:
        console.print(f"New current data key: [bold]{ring.current.kid}[/bold] (in {store.source})")
    tables = sealed_tables()
    total = rows_to_reencrypt(engine, tables, ring.current.kid)
    done = 0
    try:
        with progress() as bar:
            task = bar.add_task(f"Re-encrypting under {ring.current.kid}", total=total)
            for rows in reencrypt(engine, store, tables, batch_size):
                done += rows
                bar.update(task, completed=min(done, total))
    except KeyboardInterrupt:
        errors.print(f"[yellow]Stopped after {done} rows: `keys rotate --resume` finishes the rotation.[/yellow]")
        raise typer.Exit(130) from None
    except UnreadableData as exc:
        params = exc.params
        errors.print(
            f"[red]A value of {params['where']} (row {params.get('row')}, key {params['key_id'] or '?'}) cannot be "
            f"read ({params['reason']}); {done} rows were re-encrypted before it.[/red]"
        )
        raise typer.Exit(1) from exc
    console.print(f"{done} rows re-encrypted under {ring.current.kid}. Older keys stay until `keys retire KID`.")


@app.command("retire")
def keys_retire(ctx: typer.Context, kid: Annotated[str, typer.Argument(help="The key id to remove.")]) -> None:
    """Remove an old key from the ring; refused for the current key and while any row still uses it."""
    from marketplace.crypto import DataKeysError, KeyRetirementRefused, retire_key

    state = admin(ctx)
    store = _store(state)
    try:
        ring = retire_key(store, state.app.db.engine, sealed_tables(), kid)
    except (KeyRetirementRefused, DataKeysError) as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Data key {kid} retired; keys left: {', '.join(ring.kids)} (current: {ring.current.kid}).")
