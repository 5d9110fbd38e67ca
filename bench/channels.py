"""Channel benchmark: what one bot process sustains end to end, next to bare Rasa, in one run.

    .venv/bin/python bench/channels.py [--users 50] [--turns 6]

Starts the demo catalog in a temporary SQLite database, the action server and the Rasa server with the
trained model, a local fake of Telegram's Bot API (flood limits off, as for a bot with raised limits)
and one bot process (python-telegram-bot Application, long polling, AIORateLimiter). Then `--users`
simulated people each send `--turns` messages, one at a time, waiting for the bot's answer:

- through the bot: fake Bot API -> bot -> Rasa REST channel -> actions -> database -> reply in the fake;
- baseline: the same messages posted straight to Rasa's REST channel by as many concurrent clients.

Prints messages/s and p50/p95 latency of both, and the ratio. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import demo_marketplace, measure
from bootstrap import App
from bot.__main__ import build_process
from bot.rasa_client import RasaClient
from catalog.services import CatalogSearch
from dialogues.runtime import Servers, train
from tests.support.telegram_api import FakeTelegramAPI

MESSAGES = ["je cherche du miel", "any cheese?", "ich suche brot", "mon panier", "du fromage d'alpage", "merci"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=6, help="messages per simulated person")
    args = parser.parse_args()

    train()
    with tempfile.TemporaryDirectory() as tmp:
        settings, db = demo_marketplace(tmp)
        with (
            Servers(settings, rasa_port=5205, actions_port=5255, log_dir=Path(tmp) / "logs") as servers,
            FakeTelegramAPI(flood_limits=False) as fake,
        ):
            rasa = RasaClient(servers.rasa_url, timeout=300)
            env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "LEMAN_WEBHOOK_PORT": "5290"}
            app = App(settings, db, CatalogSearch(settings.default_language))
            process = build_process(app, env, rasa_url=servers.rasa_url)
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, daemon=True).start()
            asyncio.run_coroutine_threadsafe(process.start(), loop).result(120)
            asyncio.run_coroutine_threadsafe(process.wait_connected(), loop).result(120)

            def bare(u: int, t: int) -> None:
                rasa.send(f"telegram:{500_000 + u}", MESSAGES[t % len(MESSAGES)], {"language": "fr"})

            def through_bot(u: int, t: int) -> None:
                user = 600_000 + u
                seen = len(fake.messages_to(user))
                fake.user_sends(user, MESSAGES[t % len(MESSAGES)], language_code="fr")
                fake.wait_for_count(user, seen + 1, timeout=300)

            for warm in range(3):
                bare(999, warm)
                through_bot(999, warm)
            bare_figures = measure(bare, args.users, args.turns)
            bot_figures = measure(through_bot, args.users, args.turns)
            asyncio.run_coroutine_threadsafe(process.stop(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)
        db.dispose()

    print(f"{args.users} simulated people, {args.turns} messages each (one at a time, waiting for the answer)\n")
    print("| path | p50 ms | p95 ms | messages/s |")
    print("|---|---|---|---|")
    print(f"| bare Rasa REST channel (+ actions + database) | {bare_figures[0]:.0f} | {bare_figures[1]:.0f} | "
          f"{bare_figures[2]:.1f} |")  # fmt: skip
    print(f"| fake Bot API -> bot process -> Rasa -> reply | {bot_figures[0]:.0f} | {bot_figures[1]:.0f} | "
          f"{bot_figures[2]:.1f} |")  # fmt: skip
    print(f"\nbot throughput / bare Rasa throughput = {bot_figures[2] / bare_figures[2]:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
