"""What the benchmarks share: a demo marketplace in a temporary database, and latency/throughput figures."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from demo import load_demo
from marketplace import migrate
from marketplace.crypto import KeyStore, bind_keys
from marketplace.db import Database
from marketplace.settings import DEFAULT_CONFIG, Settings, load_settings


def demo_marketplace(folder: str) -> tuple[Settings, Database]:
    """The demo catalog in a fresh SQLite database inside `folder` (also the data directory)."""
    url = f"sqlite:///{folder}/bench.sqlite3"
    settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": url, "SMARTKET_DATA_DIR": folder})
    db = Database(url)
    # The data key the action server needs (as `admin_cli.py keys init` makes it), in this temporary folder.
    bind_keys(db.engine, KeyStore(Path(folder), create=True))
    migrate.upgrade(db)
    with db.uow() as uow:
        load_demo(uow)
        uow.commit()
    return settings, db


def measure(call: Callable[[int, int], object], users: int, turns: int) -> tuple[float, float, float]:
    """p50 and p95 latency (ms) of `call(user, turn)` and calls per second, `users` at a time, each making
    `turns` calls one after the other."""
    samples: list[float] = []
    lock = threading.Lock()

    def user(u: int) -> None:
        for t in range(turns):
            start = time.perf_counter()
            call(u, t)
            with lock:
                samples.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, range(users)))
    elapsed = time.perf_counter() - start
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)], len(ordered) / elapsed
