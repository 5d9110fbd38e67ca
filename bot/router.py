"""Where a chat message goes: direct vendor/courier commands to `bot.commands`, everything else to Rasa.

Shared by every chat adapter (Telegram, Matrix, the terminal chat), which only translate their platform's
events into `Incoming` and render the `BotMessage`s that come back.
"""

from __future__ import annotations

import asyncio
import json
import logging

from bot.commands import DIRECT, Commands, Incoming, command_of
from bot.rasa_client import AsyncRasaClient, BotMessage, RasaUnavailable
from marketplace.i18n import translate

log = logging.getLogger(__name__)

# Consumer commands, turned into Rasa intents (payloads skip NLU, so they are understood in any language).
TO_INTENT = {
    "start": "/greet",
    "help": "/help",
    "aide": "/help",
    "hilfe": "/help",
    "aiuto": "/help",
    "basket": "/show_basket",
    "panier": "/show_basket",
    "orders": "/order_status",
    "commandes": "/order_status",
    "checkout": "/checkout",
    "language": "/change_language",
    "langue": "/change_language",
}
MENU = ("start", "help", "basket", "orders", "language")  # shown in the platform's command menu


class Router:
    def __init__(self, rasa: AsyncRasaClient, commands: Commands, channel: str) -> None:
        self.rasa = rasa
        self.commands = commands
        self.channel = channel

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        """A message typed by a person."""
        parsed = command_of(incoming.text)
        if parsed is None:
            return await self._rasa(incoming, incoming.text)
        name, args = parsed
        if name in DIRECT or (name == "orders" and await asyncio.to_thread(self.commands.is_vendor, incoming.address)):
            return await asyncio.to_thread(self.commands.handle, incoming)
        if name == "start":
            return await self._start(incoming, args)
        if name in ("language", "langue") and args:
            return await self._rasa(incoming, "/change_language" + json.dumps({"language": args[0].lower()[:2]}))
        if name in TO_INTENT:
            return await self._rasa(incoming, TO_INTENT[name])
        return [BotMessage(translate("bot.unknown_command", incoming.language, command=f"/{name}"))]

    async def press(self, incoming: Incoming) -> list[BotMessage]:
        """A button pressed: one of our commands, or a Rasa payload (`/intent{...}`) sent as the turn's text
        with the same metadata as typed text, so the form, language and identity see a normal message."""
        parsed = command_of(incoming.text)
        if parsed is not None and parsed[0] in DIRECT:
            return await asyncio.to_thread(self.commands.handle, incoming)
        return await self._rasa(incoming, incoming.text)

    async def _start(self, incoming: Incoming, args: list[str]) -> list[BotMessage]:
        welcome = BotMessage(translate("bot.privacy", incoming.language))
        deep_link = args[0] if args else ""
        if deep_link.startswith("p_") and deep_link[2:].isdigit():
            payload = "/product_details" + json.dumps({"product": f"#{deep_link[2:]}"})
            return [welcome, *await self._rasa(incoming, payload)]
        return [welcome, *await self._rasa(incoming, "/greet")]

    async def _rasa(self, incoming: Incoming, text: str) -> list[BotMessage]:
        metadata = {"channel": self.channel, "language": incoming.language, "display_name": incoming.display_name}
        try:
            return await self.rasa.send(incoming.address, text, metadata)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for a %s message: %s", self.channel, exc)
            return [BotMessage(translate("bot.unavailable", incoming.language))]
