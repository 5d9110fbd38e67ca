"""Dialogue benchmark: one user turn through the whole stack, next to two Rasa baselines, in one run.

    .venv/bin/python -m bench.dialogue [--turns 10] [--long 200] [--concurrency 20]

Starts the demo catalog in a temporary SQLite database, the action server and a Rasa server with the
trained model (SQL tracker store in that same database), then measures:
- our turn: typed text through the REST channel, NLU + policies + a custom action on the core + database;
- a button press: the same search as a pressed button, as the bots send it (its `/intent{...}` payload
  through the REST channel: Rasa reads intent and entities from the payload);
- baseline "bare /model/parse": NLU only;
- baseline "bare REST turn": same model, same tracker store, REST channel, with the action endpoint pointed
  at a stub that answers instantly, so no custom action does any work;
- turn 5 vs turn 200 of one long conversation.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated

import typer

from bench.common import demo_marketplace, measure
from bot.rasa_client import RasaClient
from dialogues.runtime import DIALOGUES, Servers, model_path, on_screen, rasa_server_command, rasa_server_env, train
from marketplace.secrets import ensure_secrets
from marketplace.settings import DEFAULT_CONFIG, load_settings

# The same searches typed, and as pressed buttons (their payloads).
TYPED = ["je cherche du miel", "any cheese?", "ich suche brot", "du fromage d'alpage"]
BUTTONS = ["/search_product" + json.dumps({"product": p}) for p in ("miel", "cheese", "brot", "fromage d'alpage")]


class StubActions(BaseHTTPRequestHandler):
    """An action endpoint that does nothing: the 'no custom action' baseline."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"events": [], "responses": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def row(name: str, figures: tuple[float, float, float]) -> str:
    p50, p95, rate = figures
    return f"| {name} | {p50:.0f} | {p95:.0f} | {rate:.1f} |"


def main(
    turns: Annotated[int, typer.Option(help="Turns per conversation in the latency runs.")] = 10,
    long: Annotated[int, typer.Option(help="Length of the long conversation.")] = 200,
    concurrency: Annotated[int, typer.Option(help="Conversations at a time in the concurrent runs.")] = 20,
) -> None:
    """One user turn through the whole stack next to bare /model/parse and a bare REST turn; a long conversation."""
    train(show=on_screen)
    with tempfile.TemporaryDirectory() as tmp:
        settings, db = demo_marketplace(tmp)
        ensure_secrets(Path(tmp))  # as `admin_cli.py rasa secrets` makes them
        url = settings.database_url
        stub = ThreadingHTTPServer(("127.0.0.1", 0), StubActions)
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        bare_settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": url, "SMARTKET_DATA_DIR": f"{tmp}/bare"})
        command = rasa_server_command(bare_settings, model_path(), 5106, actions_port=stub.server_address[1])
        with (
            # The API on (behind its token) for the bare /model/parse baseline.
            Servers(settings, rasa_port=5105, actions_port=5155, log_dir=Path(tmp) / "logs", api=True) as ours,
            open(Path(tmp) / "bare-rasa.log", "wb") as bare_log,
        ):
            env = rasa_server_env(bare_settings, ours.secrets)
            bare = subprocess.Popen(command, env=env, cwd=DIALOGUES, stdout=bare_log, stderr=subprocess.STDOUT)
            client, bare_client = (
                ours.client(timeout=120),
                RasaClient("http://127.0.0.1:5106", timeout=120, secret=ours.secrets.channel),
            )
            while not bare_client.ready():
                time.sleep(1)

            def ours_typed(c: int, t: int) -> None:
                client.send(f"telegram:{10_000 + c}", TYPED[t % len(TYPED)], {"language": "fr"})

            def ours_button(c: int, t: int) -> None:
                client.send(f"telegram:{20_000 + c}", BUTTONS[t % len(BUTTONS)], {"language": "fr"})

            def bare_turn(c: int, t: int) -> None:
                bare_client.send(f"telegram:{30_000 + c}", TYPED[t % len(TYPED)], {"language": "fr"})

            def parse(_c: int, t: int) -> None:
                client.parse(TYPED[t % len(TYPED)])

            for warm in (ours_typed, ours_button, bare_turn, parse):
                warm(99, 0)
            results = {}
            for conversations in (1, concurrency):
                results[("parse", conversations)] = measure(parse, conversations, turns)
                results[("bare", conversations)] = measure(bare_turn, conversations, turns)
                results[("typed", conversations)] = measure(ours_typed, conversations, turns)
                results[("button", conversations)] = measure(ours_button, conversations, turns)

            long_times: list[float] = []
            for t in range(long):
                start = time.perf_counter()
                client.send("telegram:40000", TYPED[t % len(TYPED)], {"language": "fr"})
                long_times.append((time.perf_counter() - start) * 1000)
            bare.terminate()
            bare.wait(timeout=30)
        stub.shutdown()
        db.dispose()

    print("| turn | p50 ms | p95 ms | turns/s |")
    print("|---|---|---|---|")
    for conversations in (1, concurrency):
        print(row(f"bare /model/parse, {conversations} conv.", results[("parse", conversations)]))
        print(row(f"bare REST turn (no custom action), {conversations} conv.", results[("bare", conversations)]))
        print(row(f"our turn, typed text, {conversations} conv.", results[("typed", conversations)]))
        print(row(f"our turn, button payload, {conversations} conv.", results[("button", conversations)]))
    ours20, bare20 = results[("typed", concurrency)], results[("bare", concurrency)]
    print(f"\nat {concurrency} conversations: our p95 / bare p95 = {ours20[1] / bare20[1]:.2f}, "
          f"bare throughput / ours = {bare20[2] / ours20[2]:.2f}")  # fmt: skip
    early = statistics.median(long_times[3:8])
    late = statistics.median(long_times[-5:])
    print(f"long conversation: turn 5 ≈ {early:.0f} ms, turn {long} ≈ {late:.0f} ms (ratio {late / early:.2f})")


if __name__ == "__main__":
    typer.run(main)
