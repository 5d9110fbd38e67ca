"""Channel benchmark: what one bot process sustains end to end, next to bare Rasa, in one run.

    .venv/bin/python -m bench.channels [--users 50] [--turns 6]

Starts the demo catalog in a temporary SQLite database, the action server and the Rasa server with the
trained model, a local fake of Telegram's Bot API (flood limits off, as for a bot with raised limits)
and one bot process (python-telegram-bot Application, long polling, AIORateLimiter). Then `--users`
simulated people each send `--turns` messages, one at a time, waiting for the whole answer:

- through the bot: fake Bot API -> bot -> Rasa REST channel -> actions -> database -> reply in the fake;
- baseline: the same messages posted straight to Rasa's REST channel by as many concurrent clients.

Both clocks stop at the full reply. Rasa answers a REST call with every message at once; in the fake, the
bot's messages arrive one by one, so each turn waits until the chat holds as many messages as that turn's
answer has. Every simulated person has the same conversation from a fresh start, so the count per turn is
read once from the bare path, and checked once on the bot path (a warm-up conversation, then a quiet
second in which nothing more may arrive).

Prints messages/s and p50/p95 latency of both, and the ratio. Asserts nothing about speed.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from bench.common import demo_marketplace, measure
from bootstrap import App
from bot.__main__ import build_process
from catalog.services import CatalogSearch
from dialogues.runtime import Servers, on_screen, train
from marketplace.secrets import ensure_secrets
from tests.support.telegram_api import FakeTelegramAPI

MESSAGES = ["je cherche du miel", "any cheese?", "ich suche brot", "mon panier", "du fromage d'alpage", "merci"]
METADATA = {"language": "fr"}
COUNTING_SENDER = "telegram:700000"  # the bare conversation that tells how many messages each turn's answer has
WARM_USER = 700_001  # the bot path's warm-up conversation, which checks those counts


def message(turn: int) -> str:
    return MESSAGES[turn % len(MESSAGES)]


def main(
    users: Annotated[int, typer.Option(help="Simulated people at a time.")] = 50,
    turns: Annotated[int, typer.Option(help="Messages per simulated person.")] = 6,
) -> None:
    """One bot process end to end (fake Telegram -> bot -> Rasa -> reply) next to bare Rasa, to the full reply."""
    train(show=on_screen)
    with tempfile.TemporaryDirectory() as tmp:
        settings, db = demo_marketplace(tmp)
        ensure_secrets(Path(tmp))  # as `admin_cli.py rasa secrets` makes them
        with (
            Servers(settings, rasa_port=5205, actions_port=5255, log_dir=Path(tmp) / "logs") as servers,
            FakeTelegramAPI(flood_limits=False) as fake,
        ):
            rasa = servers.client(timeout=300)
            env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "LEMAN_WEBHOOK_PORT": "5290"}
            app = App(settings, db, CatalogSearch(settings.default_language))
            process = build_process(app, env, rasa_url=servers.rasa_url)
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, daemon=True).start()
            asyncio.run_coroutine_threadsafe(process.start(), loop).result(120)
            asyncio.run_coroutine_threadsafe(process.wait_connected(), loop).result(120)

            per_turn = [len(rasa.send(COUNTING_SENDER, message(t), METADATA)) for t in range(turns)]
            # after turn t, a person's chat holds every message of turns 0..t
            total_after = list(itertools.accumulate(per_turn))

            def bare(u: int, t: int) -> None:
                rasa.send(f"telegram:{500_000 + u}", message(t), METADATA)

            def bot_turn(user: int, t: int) -> None:
                fake.user_sends(user, message(t), language_code="fr")
                fake.wait_for_count(user, total_after[t], timeout=300)

            def through_bot(u: int, t: int) -> None:
                bot_turn(600_000 + u, t)

            for t in range(turns):
                bot_turn(WARM_USER, t)
            time.sleep(1.0)
            warm = len(fake.messages_to(WARM_USER))
            if warm != total_after[-1]:
                raise SystemExit(
                    f"the bot sent {warm} messages for a conversation bare Rasa answers with {total_after[-1]} "
                    f"({per_turn} per turn): the per-turn counts do not hold, so the figures would be wrong"
                )
            bare_figures = measure(bare, users, turns)
            bot_figures = measure(through_bot, users, turns)
            asyncio.run_coroutine_threadsafe(process.stop(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)
        db.dispose()

    print(f"{users} simulated people, {turns} messages each (one at a time, waiting for the whole answer: "
          f"{per_turn} messages per turn)\n")  # fmt: skip
    print("| path | p50 ms | p95 ms | messages/s |")
    print("|---|---|---|---|")
    print(f"| bare Rasa REST channel (+ actions + database) | {bare_figures[0]:.0f} | {bare_figures[1]:.0f} | "
          f"{bare_figures[2]:.1f} |")  # fmt: skip
    print(f"| fake Bot API -> bot process -> Rasa -> reply | {bot_figures[0]:.0f} | {bot_figures[1]:.0f} | "
          f"{bot_figures[2]:.1f} |")  # fmt: skip
    print(f"\nbot throughput / bare Rasa throughput = {bot_figures[2] / bare_figures[2]:.2f} (target >= 0.80)")


if __name__ == "__main__":
    typer.run(main)
