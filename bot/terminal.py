"""Chat with the marketplace in a terminal: the whole stack (core, Rasa, actions) on this machine.

    .venv/bin/python -m bot.terminal [--producer SLUG] [--lang fr]

What is typed goes through the same router as on Telegram and Matrix: work commands (`/stock miel de
forêt 12`, `/products`, `/orders`...) to `bot.commands`, everything else to Rasa. Buttons are shown as
numbered choices: type the number to press one. Terminal-only controls: /producer SLUG talks as a
member of that demo vendor, /consumer goes back, /quit leaves.

The terminal chat and its `terminal:` chat ids belong to the demo deployment only (SMARTKET_DEMO=1, set by
`make demo` and `make chat`): elsewhere it does not start, and the action server refuses such ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from bootstrap import build_app
from bot.commands import Commands, Incoming, command_of
from bot.rasa_client import AsyncRasaClient, BotMessage, Button
from bot.router import Router, clean
from demo import DEMO_CONSUMER, vendor_chat_address
from dialogues.runtime import RasaSetupError, Servers, on_screen, train
from marketplace.i18n import translate
from marketplace.secrets import MissingSecret

CHANNEL = "terminal"
DEFAULT_PRODUCER = "ferme-des-verchers"
QUIT = frozenset({"quit", "exit"})

console = Console()


def render(out: Console, messages: list[BotMessage], lang: str) -> list[Button]:
    """Print the assistant's messages; return its buttons, numbered in the order shown."""
    buttons: list[Button] = []
    for message in messages:
        if message.text:
            out.print(f"[bold green]bot[/bold green]  {escape(message.text)}", highlight=False)
        if message.image:
            out.print(f"      [dim]{escape(translate('terminal.image', lang, path=message.image))}[/dim]")
        if message.document:
            out.print(f"      [dim]{escape(translate('terminal.document', lang, path=message.document))}[/dim]")
        for button in message.buttons:
            buttons.append(button)
            out.print(f"      [cyan][{len(buttons)}][/cyan] {escape(button.title)}", highlight=False)
    return buttons


def is_quit(text: str) -> bool:
    parsed = command_of(text)
    return parsed is not None and parsed[0] in QUIT


class TerminalChat:
    """One person at the terminal: who they talk as, in which language, and the buttons shown last."""

    def __init__(self, router: Router, sender: str, lang: str, out: Console = console) -> None:
        self.router, self.sender, self.lang, self.out = router, sender, lang, out
        self.buttons: list[Button] = []

    async def type_line(self, text: str) -> list[BotMessage]:
        """One line typed by the person: /producer and /consumer change who they are; a number presses the
        button shown with it; anything else goes through the router as a chat message. Prints the answer
        and returns it."""
        text = clean(text).strip()  # as the router would: no terminal escapes echoed by /producer
        if not text or self._control(text):
            return []
        if text in [str(number) for number in range(1, len(self.buttons) + 1)]:  # not int(): "²", 5000 digits
            answer = await self.router.press(self._incoming(self.buttons[int(text) - 1].payload))
        else:
            answer = await self.router.handle(self._incoming(text))
        self.buttons = render(self.out, answer, self.lang)
        return answer

    def _incoming(self, text: str) -> Incoming:
        return Incoming(self.sender, text, self.lang)

    def _control(self, text: str) -> bool:
        parsed = command_of(text)
        if parsed is None:
            return False
        name, args = parsed
        if name == "producer":
            slug = args[0] if args else DEFAULT_PRODUCER
            self.sender = vendor_chat_address(slug)
            self.out.print(f"[yellow]{escape(translate('terminal.as_vendor', self.lang, vendor=slug))}[/yellow]")
            return True
        if name == "consumer":
            self.sender = DEMO_CONSUMER
            self.out.print(f"[yellow]{escape(translate('terminal.as_consumer', self.lang))}[/yellow]")
            return True
        return False


def chat(session: TerminalChat) -> None:
    """Read lines until /quit, Ctrl-D or Ctrl-C; each turn runs on one event loop kept for the whole chat."""
    with asyncio.Runner() as runner:
        try:
            while True:
                try:
                    text = console.input("[bold blue]you[/bold blue]  ")
                except (EOFError, KeyboardInterrupt):
                    console.print()
                    return
                if is_quit(text):
                    return
                runner.run(session.type_line(text))
        finally:
            with contextlib.suppress(Exception):
                runner.run(session.router.rasa.close())


def spinner(message: str, done: threading.Event) -> None:
    if not console.is_terminal:  # piped output: one line, no animation
        console.print(message)
        return
    for frame in itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"):
        if done.wait(0.1):
            break
        console.print(f"\r{frame} {message}", end="")
    console.print("\r" + " " * (len(message) + 2) + "\r", end="")


def main(
    producer: Annotated[str | None, typer.Option(help="Talk as a member of this demo vendor (slug).")] = None,
    lang: Annotated[str | None, typer.Option(help="Language sent as channel metadata (fr, de, it, en).")] = None,
) -> None:
    """Chat with the marketplace in this terminal: Rasa, the action server and the core on this machine.

    Type as on a phone; numbers press buttons. /producer SLUG, /consumer, /quit."""
    app = build_app()
    settings = app.settings
    lang = lang or settings.default_language
    if not settings.demo:
        app.close()
        console.print(f"[red]{escape(translate('terminal.demo_only', lang))}[/red]")
        raise typer.Exit(2)
    console.print(Panel.fit(escape(translate("terminal.banner", lang, name=settings.name)), border_style="green"))
    done = threading.Event()
    thread = threading.Thread(target=spinner, args=(translate("terminal.starting", lang), done))
    try:
        train(show=on_screen)  # the first time only: says so, and how long it takes
        thread.start()
        started = time.monotonic()
        with Servers(settings) as servers:
            done.set()
            thread.join()
            console.print(f"[dim]{translate('terminal.ready', lang, seconds=round(time.monotonic() - started))}[/dim]")
            rasa = AsyncRasaClient(servers.rasa_url, secret=servers.secrets.channel)
            router = Router(rasa, Commands(app), CHANNEL)
            sender = vendor_chat_address(producer) if producer else DEMO_CONSUMER
            chat(TerminalChat(router, sender, lang))
    except (RasaSetupError, MissingSecret) as exc:
        done.set()
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        pass
    finally:
        done.set()
        app.close()
        console.print(f"[dim]{translate('terminal.stopped', lang)}[/dim]")


if __name__ == "__main__":
    typer.run(main)
