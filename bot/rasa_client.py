"""A small client of Rasa's REST channel, shared by every chat adapter (terminal, Telegram, Matrix)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:5005"


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


@dataclass
class RasaClient:
    url: str = DEFAULT_URL
    timeout: float = 30.0
    _headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode(), headers=self._headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")

    def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        """One user turn through the REST channel; returns what the assistant answered."""
        answer = self._post("/webhooks/rest/webhook", {"sender": sender, "message": text, "metadata": metadata or {}})
        return to_messages(answer)

    def parse(self, text: str) -> dict[str, Any]:
        return self._post("/model/parse", {"text": text})

    def ready(self) -> bool:
        """True once the server answers and has a model loaded."""
        try:
            with urllib.request.urlopen(f"{self.url}/status", timeout=2) as response:
                return bool(json.loads(response.read()).get("model_file"))
        except (urllib.error.URLError, OSError, ValueError):
            return False


def to_messages(answer: Any) -> list[BotMessage]:
    """Rasa's REST channel answer (a list of {text, buttons, image}) as our messages."""
    return [
        BotMessage(
            text=item.get("text") or (item.get("custom") or {}).get("caption") or "",
            buttons=tuple(Button(b["title"], b["payload"]) for b in item.get("buttons") or []),
            image=item.get("image") or "",
            document=str((item.get("custom") or {}).get("document") or ""),
        )
        for item in answer or []
        if isinstance(item, dict)
    ]


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) did not answer: the user is asked to retry later."""


class AsyncRasaClient:
    """The same REST channel client for the asyncio bots, with one pooled HTTP connection set."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 30.0, max_connections: int = 100) -> None:
        self.url = url.rstrip("/")
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(timeout=timeout, limits=limits)

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            response = await self._http.post(f"{self.url}/webhooks/rest/webhook", json=body)
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
            response = await self._http.get(f"{self.url}/status", timeout=2)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    async def close(self) -> None:
        await self._http.aclose()
