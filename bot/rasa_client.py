"""A small client of Rasa's REST channel, shared by every chat adapter (terminal, Telegram, Matrix).

Every message carries the channel secret (Rasa refuses messages without it); readiness is asked of our
channel's `/webhooks/rest/status`, which says only whether a model is loaded. `parse` and `tracker` use
Rasa's HTTP API, served only when an admin turns it on, and then only with its token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:5005"
WEBHOOK = "/webhooks/rest/webhook"
STATUS = "/webhooks/rest/status"
SECRET_HEADER = "X-Smartket-Channel-Secret"  # checked by dialogues/rasa_plugins/rasa_channels.py


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str = ""
    buttons: tuple[Button, ...] = ()
    image: str = ""
    document: str = ""  # a file to send as such (a QR-bill PDF), from Rasa's custom payload
    # What the person may share instead of typing ("location", "contact"): Telegram shows request buttons,
    # Matrix a hint line. From the custom payload {"share": [...]} that follows the question (notes: step 8).
    share: tuple[str, ...] = ()
    # A bot command an action asks the router to run for the person in place of this message ("/mydata",
    # "/forget": the words for them reach Rasa, the work is the bot's), from the custom payload {"command": ...}.
    command: str = ""
    # A place to show as a map pin, (latitude, longitude) as decimal strings in degrees (bot.sharing.map_pin):
    # Telegram sends a location message after the text, Matrix an m.location event, other channels the text.
    location: tuple[str, str] | None = None


SHAREABLE = ("location", "contact")  # the values of {"share": [...]} the adapters know how to offer


@dataclass
class RasaClient:
    """Blocking client, for the tests, the benchmarks and local scripts."""

    url: str = DEFAULT_URL
    timeout: float = 30.0
    secret: str = field(default="", repr=False)  # the channel secret (marketplace/secrets.py)
    api_token: str = field(default="", repr=False)  # Rasa's HTTP API token, when the API is on

    def _request(self, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, headers={"Content-Type": "application/json", **(headers or {})},
            method="GET" if body is None else "POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")

    def _api(self, path: str) -> str:
        return f"{path}?{urllib.parse.urlencode({'token': self.api_token})}"

    def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        """One user turn through the REST channel; returns what the assistant answered."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        return to_messages(self._request(WEBHOOK, body, {SECRET_HEADER: self.secret}))

    def parse(self, text: str) -> dict[str, Any]:
        """NLU only (Rasa's HTTP API: needs the API on and its token)."""
        return self._request(self._api("/model/parse"), {"text": text})

    def tracker(self, sender: str) -> dict[str, Any]:
        """A conversation as Rasa keeps it (Rasa's HTTP API: needs the API on and its token)."""
        path = urllib.parse.quote(sender, safe=":@")  # Rasa takes the id as written ("%3A" would be another one)
        return self._request(self._api(f"/conversations/{path}/tracker"))

    def ready(self) -> bool:
        """True once the server answers and has a model loaded."""
        try:
            with urllib.request.urlopen(f"{self.url}{STATUS}", timeout=2) as response:
                return bool(json.loads(response.read()).get("ready"))
        except (urllib.error.URLError, OSError, ValueError):
            return False


def to_messages(answer: Any) -> list[BotMessage]:
    """Rasa's REST channel answer (a list of {text, buttons, image, custom}) as our messages. Anything not shaped
    so (an unknown custom payload, a broken plugin) is left out, so that one odd field never costs the person the
    whole answer. A custom item that only says what may be shared ({"share": [...]}) is folded into the message
    before it, the question it belongs to (a message of its own when nothing came before)."""

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    def custom(item: dict[str, Any]) -> dict[str, Any]:
        return item["custom"] if isinstance(item.get("custom"), dict) else {}

    def buttons(item: dict[str, Any]) -> tuple[Button, ...]:
        listed = item.get("buttons") if isinstance(item.get("buttons"), list) else []
        return tuple(Button(text(b.get("title")), text(b.get("payload"))) for b in listed if isinstance(b, dict))

    messages: list[BotMessage] = []
    for item in answer if isinstance(answer, list) else []:
        if not isinstance(item, dict):
            continue
        message = BotMessage(
            text=text(item.get("text")) or text(custom(item).get("caption")),
            buttons=buttons(item),
            image=text(item.get("image")),
            document=text(custom(item).get("document")),
            share=shared(custom(item).get("share")),
            command=text(custom(item).get("command")),
        )
        if "share" in custom(item) and message == BotMessage(share=message.share):  # only a share offer
            if messages:
                before = messages[-1]
                messages[-1] = replace(before, share=tuple(v for v in SHAREABLE if v in before.share + message.share))
            elif message.share:
                messages.append(message)
            continue
        messages.append(message)
    return messages


def shared(value: Any) -> tuple[str, ...]:
    """The known values of a custom payload's "share" list, in our order; () for anything else."""
    if not isinstance(value, list):
        return ()
    return tuple(known for known in SHAREABLE if any(isinstance(v, str) and v == known for v in value))


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) did not answer: the user is asked to retry later."""


class AsyncRasaClient:
    """The same REST channel client for the asyncio bots, with one pooled HTTP connection set."""

    def __init__(
        self, url: str = DEFAULT_URL, timeout: float = 30.0, max_connections: int = 100, *, secret: str = ""
    ) -> None:
        self.url = url.rstrip("/")
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(timeout=timeout, limits=limits, headers={SECRET_HEADER: secret})

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            response = await self._http.post(f"{self.url}{WEBHOOK}", json=body)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"HTTP {response.status_code}")
        try:
            return to_messages(response.json())
        except ValueError as exc:
            raise RasaUnavailable("answer is not JSON") from exc

    async def ready(self) -> bool:
        try:
            response = await self._http.get(f"{self.url}{STATUS}", timeout=2)
            return response.status_code == 200 and bool(response.json().get("ready"))
        except (httpx.HTTPError, ValueError):
            return False

    async def close(self) -> None:
        await self._http.aclose()
