"""The composition root: builds the database, search index holder and settings of one deployment.

Entry points (admin CLI, action server, bots, tests) call `build_app()` once; nothing is built at import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.services import CatalogSearch
from marketplace.crypto import DataKeys, KeyStore, bind_keys
from marketplace.db import Database
from marketplace.settings import Settings, load_settings


@dataclass
class App:
    settings: Settings
    db: Database
    search: CatalogSearch
    # Seconds since the epoch: what "now" is for the checkout (slots offered, cut-offs); tests fix it.
    clock: Callable[[], float] = time.time
    # The keys sealing personal delivery data, bound to `db` (None: an app built without them, as some tests do).
    keys: DataKeys | None = None

    def close(self) -> None:
        self.db.dispose()


def build_app(config: str | Path | None = None, *, schema: str | None = None) -> App:
    settings = load_settings(config)
    # Created in the demo deployment; anywhere else a missing key stops here, saying how to make one.
    keys = KeyStore(settings.data_dir, create=settings.demo)
    db = Database(settings.database_url, schema=schema)
    bind_keys(db.engine, keys)
    return App(settings=settings, db=db, search=CatalogSearch(settings.default_language, settings.taxonomy), keys=keys)
