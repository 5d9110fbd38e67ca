"""Chat with the marketplace in a terminal: the whole stack (core, Rasa, actions) on this machine.

    .venv/bin/python -m bot.terminal [--producer SLUG] [--lang fr]

Buttons are shown as numbered choices: type the number to press one. Inside the chat:
/producer SLUG talks as a member of that demo vendor, /consumer goes back, /quit leaves.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from bot.rasa_client import BotMessage, Button, RasaClient
from demo import DEMO_CONSUMER, vendor_chat_address
from dialogues.runtime import RasaSetupError, Servers
from marketplace.i18n import translate
from marketplace.settings import load_settings

console = Console()


def render(messages: list[BotMessage], lang: str) -> list[Button]:
    """Print the assistant's messages; return its buttons, numbered in the order shown."""
    buttons: list[Button] = []
    for message in messages:
        if message.text:
            console.print(f"[bold green]bot[/bold green]  {message.text}", highlight=False)
        if message.image:
            console.print(f"      [dim]{translate('terminal.image', lang, path=message.image)}[/dim]")
        if message.document:
            console.print(f"      [dim]{translate('terminal.document', lang, path=message.document)}[/dim]")
        for button in message.buttons:
            buttons.append(button)
            console.print(f"      [cyan][{len(buttons)}][/cyan] {button.title}", highlight=False)
    return buttons


def chat(client: RasaClient, sender: str, lang: str) -> None:
    buttons: list[Button] = []
    while True:
        try:
            text = console.input("[bold blue]you[/bold blue]  ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return
        if text.startswith("/producer"):
            slug = text.partition(" ")[2].strip() or "ferme-des-verchers"
            sender = vendor_chat_address(slug)
            console.print(f"[yellow]{translate('terminal.as_vendor', lang, vendor=slug)}[/yellow]")
            continue
        if text == "/consumer":
            sender = DEMO_CONSUMER
            console.print(f"[yellow]{translate('terminal.as_consumer', lang)}[/yellow]")
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1].payload  # a numbered choice sends its button's payload
        try:
            answer = client.send(sender, text, {"language": lang})
            buttons = render(answer, lang)
        except OSError as exc:
            console.print(f"[red]{translate('terminal.no_answer', lang, error=exc)}[/red]")


def spinner(message: str, done: threading.Event) -> None:
    if not console.is_terminal:  # piped output: one line, no animation
        console.print(message)
        return
    for frame in itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"):
        if done.wait(0.1):
            break
        console.print(f"\r{frame} {message}", end="")
    console.print("\r" + " " * (len(message) + 2) + "\r", end="")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--producer", help="talk as a member of this demo vendor (slug)")
    parser.add_argument("--lang", default=None, help="language sent as channel metadata (fr, de, it, en)")
    args = parser.parse_args()
    settings = load_settings()
    lang = args.lang or settings.default_language
    console.print(
        Panel.fit(
            escape(translate("terminal.banner", lang, name=settings.name)),
            border_style="green",
        )
    )
    servers = Servers(settings)
    done = threading.Event()
    thread = threading.Thread(target=spinner, args=(translate("terminal.starting", lang), done))
    try:
        thread.start()
        started = time.monotonic()
        with servers:
            done.set()
            thread.join()
            console.print(f"[dim]{translate('terminal.ready', lang, seconds=round(time.monotonic() - started))}[/dim]")
            sender = vendor_chat_address(args.producer) if args.producer else DEMO_CONSUMER
            chat(RasaClient(servers.rasa_url), sender, lang)
    except RasaSetupError as exc:
        done.set()
        console.print(f"[red]{exc}[/red]")
        return 1
    except KeyboardInterrupt:
        done.set()
    finally:
        done.set()
        console.print(f"[dim]{translate('terminal.stopped', lang)}[/dim]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
