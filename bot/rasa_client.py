"""A small client of Rasa's REST channel, shared by every chat adapter (terminal, Telegram, Matrix)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

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
        return [
            BotMessage(
                text=item.get("text") or "",
                buttons=tuple(Button(b["title"], b["payload"]) for b in item.get("buttons") or []),
                image=item.get("image") or "",
            )
            for item in answer or []
        ]

    def parse(self, text: str) -> dict[str, Any]:
        return self._post("/model/parse", {"text": text})

    def ready(self) -> bool:
        """True once the server answers and has a model loaded."""
        try:
            with urllib.request.urlopen(f"{self.url}/status", timeout=2) as response:
                return bool(json.loads(response.read()).get("model_file"))
        except (urllib.error.URLError, OSError, ValueError):
            return False
