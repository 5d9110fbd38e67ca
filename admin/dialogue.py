"""`nlu`, `rasa` and `actions`: the assistant's training data from the catalog, the Rasa server (its own
Python 3.10 virtualenv, driven by `dialogues/runtime.py`) and the custom-action server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from admin.context import admin, console, errors

nlu_app = typer.Typer(help="The assistant's training data.", no_args_is_help=True)
rasa_app = typer.Typer(help="The Rasa server (its own Python 3.10 virtualenv).", no_args_is_help=True)
actions_app = typer.Typer(help="The custom-action server.", no_args_is_help=True)


@nlu_app.command("export")
def nlu_export(ctx: typer.Context) -> None:
    """Write dialogues/data/catalog.yml (lookup tables of products, vendors, categories, labels)."""
    from dialogues.nlu_export import export

    state = admin(ctx)
    with state.unit_of_work() as uow:
        path = export(uow, taxonomy=state.settings.taxonomy)
    console.print(f"NLU catalog data written to {path}.")


def _train(force: bool) -> Path:
    from dialogues import runtime

    try:
        with console.status("Training the Rasa model (a few minutes on 2 cores)..."):
            path = runtime.train(force=force)
    except runtime.RasaSetupError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Model: {path}")
    return path


@rasa_app.command("train")
def rasa_train(force: Annotated[bool, typer.Option(help="Train even if an identical model exists.")] = False) -> None:
    """Train the model, unless one was already trained on exactly these files."""
    _train(force)


@rasa_app.command("serve")
def rasa_serve(
    ctx: typer.Context,
    api: Annotated[
        bool,
        typer.Option(
            "--api",
            help="Also serve Rasa's HTTP API (/model/parse, conversations, models), behind the token of "
            "$SMARTKET_RASA_API_TOKEN or <data_dir>/secrets/rasa-api-token.",
        ),
    ] = False,
) -> None:
    """Train if needed, then run the Rasa server on 127.0.0.1:5005.

    It serves our REST channel (for holders of the channel secret) and its readiness check; with --api,
    Rasa's HTTP API too, behind its token."""
    from dialogues import runtime
    from marketplace.secrets import MissingSecret

    settings = admin(ctx).settings
    try:
        secrets = runtime.DialogueSecrets.load(settings, api=api)
    except MissingSecret as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    model = _train(force=False)
    command = runtime.rasa_server_command(settings, model, api=api)
    os.execve(command[0], command, runtime.rasa_server_env(settings, secrets))


@rasa_app.command("secrets")
def rasa_secrets(
    ctx: typer.Context,
    rotate: Annotated[
        list[str] | None,
        typer.Option(help="Replace this secret's file with a new value: channel, actions, api or all (repeatable)."),
    ] = None,
) -> None:
    """Create the missing shared secrets, and say where each comes from (never its value).

    The channel secret, the action server's and the Rasa API token are files readable by their owner only in
    <data_dir>/secrets; a variable set in the environment wins over its file. Restart the servers and the bot
    after a rotation."""
    from marketplace import secrets

    names = {"channel": secrets.CHANNEL, "actions": secrets.ACTIONS, "api": secrets.RASA_API}
    chosen = set(rotate or [])
    unknown = chosen - {*names, "all"}
    if unknown:
        errors.print(f"[red]unknown secret {', '.join(sorted(unknown))}: choose among channel, actions, api, all[/red]")
        raise typer.Exit(2)
    data_dir = admin(ctx).settings.data_dir
    try:
        for name, secret in names.items():
            if name in chosen or "all" in chosen:
                secrets.rotate_secret(secret, data_dir)
                console.print(f"{secret.what}: new value in {secrets.secret_path(secret, data_dir)}")
        sources = secrets.ensure_secrets(data_dir)
    except secrets.MissingSecret as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    for secret, source in sources.items():
        console.print(f"{secret.what}: {source}")


@actions_app.command("serve")
def actions_serve(ctx: typer.Context, port: Annotated[int, typer.Option()] = 5055) -> None:
    """Run the custom-action server on 127.0.0.1 (SMARTKET_ACTIONS_HOST to change).

    It answers Rasa only: the callers holding the action secret ($SMARTKET_ACTION_SECRET or
    <data_dir>/secrets/action-secret)."""
    from dialogues.action_server import Guard, serve
    from marketplace import migrate
    from marketplace.secrets import MissingSecret

    state = admin(ctx)
    try:
        guard = Guard.for_deployment(state.settings)
    except MissingSecret as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    migrate.upgrade(state.app.db)
    serve(guard, port)
