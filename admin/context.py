"""What every admin command shares: the deployment it works on, the language it prints in, where it prints.

The entry point's callback puts one `AdminContext` in Typer's context (`ctx.obj`); a command reaches it with
`admin(ctx)`. The app (settings, database, search) is built on first use, so `--help` and a command that
fails on its arguments never open the database, and it is closed when the command ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from bootstrap import App
    from marketplace.db import UnitOfWork
    from marketplace.settings import Settings

console = Console()
errors = Console(stderr=True)


def default_language() -> str:
    return os.environ.get("SMARTKET_ADMIN_LANG", "en")


@dataclass
class AdminContext:
    config: Path | None = None  # the deployment file; None: $SMARTKET_CONFIG or config/geneva.toml
    lang: str = field(default_factory=default_language)  # of product names, amounts and messages
    _app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            from bootstrap import build_app
            from marketplace.secrets import MissingSecret
            from marketplace.settings import SettingsError

            try:
                self._app = build_app(self.config)
            except (SettingsError, MissingSecret) as exc:  # MissingSecret: no data key (marketplace.crypto)
                errors.print(f"[red]Configuration error:[/red] {exc}")
                raise typer.Exit(2) from exc
        return self._app

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """A unit of work whose business errors end the command with a clear, translated message."""
        from marketplace.errors import MarketplaceError

        try:
            with self.app.db.uow() as uow:
                yield uow
        except MarketplaceError as exc:
            from marketplace.i18n import error_message

            errors.print(f"[red]{error_message(exc, self.lang)}[/red]")
            raise typer.Exit(1) from exc

    def chf(self, amount: Decimal, lang: str | None = None) -> str:
        from marketplace.i18n import format_chf

        return format_chf(amount, lang or self.lang)

    def translate(self, key: str) -> str:
        from marketplace.i18n import translate

        return translate(key, self.lang)

    def database_url(self) -> str:
        """The database's URL without its password, to show."""
        return self.app.db.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


def admin(ctx: typer.Context) -> AdminContext:
    """The admin context the entry point's callback set for this command."""
    return ctx.ensure_object(AdminContext)


def progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
