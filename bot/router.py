"""Where a chat message goes: direct vendor/courier commands to `bot.commands`, everything else to Rasa.

Shared by every chat adapter (Telegram, Matrix, the terminal chat), which only translate their platform's
events into `Incoming` and render the `BotMessage`s that come back.

Everything a person sends is untrusted: characters that only break storage or display are dropped, an
over-long message is refused with a sentence, and typed text that starts with "/" is one of our commands
or an unknown one, never a Rasa payload (`/intent{...}` carries entities past the NLU: only our buttons
send those).

The data rights run here as commands (`/mydata`, `/forget`: see bot.commands), also when asked in words: Rasa's
actions for those words answer with the command to run (`BotMessage.command`), and the router runs it. A typed
« oui » confirms an erasure only as the very next message after /forget's question, which it answers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections import OrderedDict

from bot.commands import DIRECT, ERASE_NO, ERASE_YES, Commands, Incoming, command_of, erasure_answer
from bot.rasa_client import AsyncRasaClient, BotMessage, RasaUnavailable
from bot.team_commands import DEEP_LINK_PREFIX
from marketplace.i18n import translate
from privacy.notice import full_notice, start_notice

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
    "addresses": "/list_addresses",
    "adresses": "/list_addresses",
    # Businesses apply by chat (dialogues/actions/registration.py).
    "register": "/register_business",
    "inscription": "/register_business",
}
MENU = ("start", "help", "basket", "orders", "language", "privacy", "mydata", "forget")  # the platform's menu
# The commands a Rasa action may ask the router to run for the person (`BotMessage.command`).
FROM_RASA = frozenset({"/mydata", "/forget"})
MAX_QUESTIONS = 10_000  # open /forget questions remembered (the oldest forgotten first)

MAX_TEXT = 4096  # characters: Telegram's own limit for a message, a long page of text
SHOWN_COMMAND = 32  # characters of an unknown command repeated in the answer
# Characters nobody types on purpose, which break storage (NUL in PostgreSQL, lone surrogates in UTF-8) or
# display (terminal escapes, bidi overrides that turn the rest of a reply around): C0 and C1 controls except
# tab and newline, bidi embeddings, overrides and isolates, surrogates.
UNTYPABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# A button payload as our actions write them: `/intent` or `/intent{"entity": "value", ...}`.
PAYLOAD = re.compile(r"/[a-z][a-z_]*(\{.*\})?", re.DOTALL)


def clean(text: str) -> str:
    """The text without the characters of UNTYPABLE."""
    return UNTYPABLE.sub("", text)


def is_payload(text: str) -> bool:
    """A well-formed Rasa payload: an intent name, and entities as one JSON object whose values are plain values
    or lists of them (a shopping list's products ride along in one button)."""
    match = PAYLOAD.fullmatch(text)
    if match is None:
        return False
    if match[1] is None:
        return True
    try:
        entities = json.loads(match[1])
    except ValueError:
        return False
    plain = str | int | float
    return isinstance(entities, dict) and all(
        isinstance(v, plain) or (isinstance(v, list) and all(isinstance(item, plain) for item in v))
        for v in entities.values()
    )


def cleaned(incoming: Incoming) -> Incoming:
    """The message with its text and the person's display name (which Matrix lets anyone set) cleaned."""
    return dataclasses.replace(incoming, text=clean(incoming.text), display_name=clean(incoming.display_name)[:64])


class Router:
    def __init__(self, rasa: AsyncRasaClient, commands: Commands, channel: str) -> None:
        self.rasa = rasa
        self.commands = commands
        self.channel = channel
        # Per chat address, the "yes" payload of the /forget question just asked, which a typed « oui » answers.
        self._questions: OrderedDict[str, str] = OrderedDict()

    async def handle(self, incoming: Incoming) -> list[BotMessage]:
        """A message typed by a person."""
        incoming = cleaned(incoming)
        asked = self._questions.pop(incoming.address, None)
        answer = erasure_answer(incoming.text) if asked and len(incoming.text) <= MAX_TEXT else None
        if asked and answer:  # the answer to /forget's question, typed instead of pressed
            incoming = dataclasses.replace(incoming, text=asked if answer == "yes" else ERASE_NO)
            return self._noted(incoming, await asyncio.to_thread(self.commands.handle, incoming))
        return self._noted(incoming, await self._typed(incoming))

    async def _typed(self, incoming: Incoming) -> list[BotMessage]:
        if len(incoming.text) > MAX_TEXT:
            return await self._too_long(incoming)
        parsed = command_of(incoming.text)
        if parsed is None:
            if incoming.text.strip().startswith("/"):  # "/ intent{...}", "/_x", "/": not a command we know
                return await self._unknown(incoming, incoming.text.split()[0])
            # A message of invisible characters only says "hello?": it gets the help.
            return await self._rasa(incoming, incoming.text if incoming.text.strip() else TO_INTENT["help"])
        name, args = parsed
        if name in DIRECT or (name == "orders" and await asyncio.to_thread(self.commands.is_vendor, incoming.address)):
            return await asyncio.to_thread(self.commands.handle, incoming)
        if name == "start":
            return await self._start(incoming, args)
        if name == "privacy":
            return [BotMessage(full_notice(self.commands.app.settings, await self.language(incoming)))]
        if name in ("language", "langue") and args:
            return await self._rasa(incoming, "/change_language" + json.dumps({"language": args[0].lower()[:2]}))
        if name in TO_INTENT:
            return await self._rasa(incoming, TO_INTENT[name])
        return await self._unknown(incoming, f"/{name}")

    async def press(self, incoming: Incoming) -> list[BotMessage]:
        """A button pressed: one of our commands, or a Rasa payload (`/intent{...}`) sent as the turn's text
        with the same metadata as typed text, so the form, language and identity see a normal message.
        Button data can be forged (a modified Telegram client sends any callback data): anything else that
        starts with "/" is answered as an unknown command, and other text goes to Rasa as if typed."""
        incoming = cleaned(incoming)
        self._questions.pop(incoming.address, None)  # whatever was pressed, the question is no longer open
        return self._noted(incoming, await self._pressed(incoming))

    async def _pressed(self, incoming: Incoming) -> list[BotMessage]:
        if len(incoming.text) > MAX_TEXT:
            return await self._too_long(incoming)
        parsed = command_of(incoming.text)
        if parsed is not None and parsed[0] in DIRECT:
            return await asyncio.to_thread(self.commands.handle, incoming)
        if incoming.text.strip().startswith("/") and not is_payload(incoming.text.strip()):
            return await self._unknown(incoming, incoming.text.split()[0])
        return await self._rasa(incoming, incoming.text)

    async def _start(self, incoming: Incoming, args: list[str]) -> list[BotMessage]:
        welcome = BotMessage(start_notice(self.commands.app.settings, await self.language(incoming)))
        deep_link = args[0] if args else ""
        if deep_link.startswith("p_") and deep_link[2:].isascii() and deep_link[2:].isdigit():
            payload = "/product_details" + json.dumps({"product": f"#{deep_link[2:]}"})
            return [welcome, *await self._rasa(incoming, payload)]
        if deep_link.startswith(DEEP_LINK_PREFIX) and 0 < len(deep_link) <= 40:  # an owner's /invite link
            link = dataclasses.replace(incoming, text=f"/link {deep_link.removeprefix(DEEP_LINK_PREFIX)}")
            return [welcome, *await asyncio.to_thread(self.commands.handle, link)]
        return [welcome, *await self._rasa(incoming, "/greet")]

    async def language(self, incoming: Incoming) -> str:
        """The language the person's conversation settled on (the platform's for a newcomer)."""
        lang, _ = await asyncio.to_thread(self.commands.menu_for, incoming.address, incoming.language)
        return lang

    async def _unknown(self, incoming: Incoming, command: str) -> list[BotMessage]:
        """An unknown command: the commands this person can use, work commands first, in their language."""
        lang, work = await asyncio.to_thread(self.commands.menu_for, incoming.address, incoming.language)
        shown = (command.split() or ["/"])[0][:SHOWN_COMMAND]  # its first word, on one line
        lines = [translate("bot.unknown_command", lang, command=shown)]
        lines += [f"/{c} — {translate(f'bot.menu.work.{c}', lang)}" for c in work]
        lines += [f"/{c} — {translate(f'bot.menu.{c}', lang)}" for c in MENU if c not in work]
        lines.append(translate("bot.unknown_command.hint", lang))
        return [BotMessage("\n".join(lines))]

    async def _too_long(self, incoming: Incoming) -> list[BotMessage]:
        return [BotMessage(translate("bot.too_long", await self.language(incoming), limit=MAX_TEXT))]

    async def _rasa(self, incoming: Incoming, text: str) -> list[BotMessage]:
        metadata = {"channel": self.channel, "language": incoming.language, "display_name": incoming.display_name}
        try:
            answer = await self.rasa.send(incoming.address, text, metadata)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for a %s message: %s", self.channel, exc)
            return [BotMessage(translate("bot.unavailable", await self.language(incoming)))]
        replies: list[BotMessage] = []
        for message in answer:  # a command an action asks for is run, after Rasa stored the turn
            if message.command in FROM_RASA:
                replies += await asyncio.to_thread(
                    self.commands.handle, dataclasses.replace(incoming, text=message.command)
                )
            elif not message.command or message.text:
                replies.append(message)
        return replies

    def _noted(self, incoming: Incoming, replies: list[BotMessage]) -> list[BotMessage]:
        """The replies, having noted whether the last buttons they offer are /forget's question: then the next
        typed message may answer it."""
        offered = next((reply.buttons for reply in reversed(replies) if reply.buttons), ())
        yes = next((b.payload for b in offered if b.payload.startswith(ERASE_YES + " ")), None)
        if yes is not None:
            self._questions[incoming.address] = yes
            self._questions.move_to_end(incoming.address)
            while len(self._questions) > MAX_QUESTIONS:
                self._questions.popitem(last=False)
        return replies
