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

    with admin(ctx).unit_of_work() as uow:
        path = export(uow)
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
def rasa_serve(ctx: typer.Context) -> None:
    """Train if needed, then run the Rasa server on 127.0.0.1:5005 with its HTTP API."""
    from dialogues import runtime

    model = _train(force=False)
    settings = admin(ctx).settings
    command = runtime.rasa_server_command(settings, model)
    os.execve(command[0], command, runtime.rasa_env() | runtime.rasa_password_env(settings))


@actions_app.command("serve")
def actions_serve(ctx: typer.Context, port: Annotated[int, typer.Option()] = 5055) -> None:
    """Run the custom-action server on 127.0.0.1 (SMARTKET_ACTIONS_HOST to change)."""
    from dialogues.action_server import serve
    from marketplace import migrate

    migrate.upgrade(admin(ctx).app.db)
    serve(port)
