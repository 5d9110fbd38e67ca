"""Telegram end to end: the real python-telegram-bot Application against a local fake of the Bot API,
with the real Rasa server, action server and database behind it."""

from __future__ import annotations

import json
import re
import socket
import socketserver
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from itertools import count
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot.rasa_client import BotMessage, Button
from catalog.models import Product
from checkout.models import Order
from marketplace.accounts import person_for_chat
from marketplace.outbox import OutboxMessage, OutboxStatus, enqueue
from tests.e2e.conftest import BotRunner, Stack, bot_process, free_port, link_code
from tests.support.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")
users = count(770001)


@pytest.fixture(scope="module")
def telegram(stack: Stack) -> Iterator[tuple[FakeTelegramAPI, BotRunner]]:
    with FakeTelegramAPI() as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "TELEGRAM_FILE_URL": fake.base_file_url,
        }
        with BotRunner(bot_process(stack, env)) as runner:
            yield fake, runner


def buttons(message) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    markup = message.reply_markup or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


class TelegramUser:
    """A person in a private chat with the bot, typing and pressing buttons."""

    def __init__(self, fake: FakeTelegramAPI, language: str = "fr") -> None:
        self.fake, self.id, self.language = fake, next(users), language

    def say(self, text: str, expect: str = "") -> list:  # type: ignore[type-arg]
        seen = len(self.fake.messages_to(self.id))
        self.fake.user_sends(self.id, text, language_code=self.language)
        return self._answer(seen, expect)

    def press(self, title_part: str, expect: str = "") -> list:  # type: ignore[type-arg]
        for message in reversed(self.fake.messages_to(self.id)):
            for title, data in buttons(message):
                if title_part.lower() in title.lower():
                    seen = len(self.fake.messages_to(self.id))
                    query = self.fake.user_presses(self.id, message.message_id, data)
                    answer = self._answer(seen, expect)
                    assert any(c.get("callback_query_id") == query for c in self.fake.answered_callbacks)
                    return answer
        raise AssertionError(f"no button {title_part!r} in {[buttons(m) for m in self.fake.messages_to(self.id)]}")

    def _answer(self, seen: int, expect: str, timeout: float = 30.0) -> list:  # type: ignore[type-arg]
        """The bot's new messages once `expect` shows up (or, without it, once they stop coming)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            new = self.fake.messages_to(self.id)[seen:]
            text = "\n".join(m.text or "" for m in new)
            if expect and expect.lower() in text.lower():
                return new
            if new and not expect:
                count_now = len(new)
                quiet_since = quiet_since or (time.monotonic(), count_now)
                if quiet_since[1] != count_now:
                    quiet_since = (time.monotonic(), count_now)
                elif time.monotonic() - quiet_since[0] > 0.6:
                    return new
            time.sleep(0.05)
        raise AssertionError(f"expected {expect!r}, got {[m.text for m in self.fake.messages_to(self.id)[seen:]]}")


def test_commands_are_registered_in_every_language(telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    for lang, basket in (("fr", "Mon panier"), ("en", "My basket"), ("de", None), ("it", None)):
        commands = {c["command"]: c["description"] for c in fake.commands[lang]}
        assert set(commands) == {"start", "help", "basket", "orders", "language"}
        if basket:
            assert commands["basket"] == basket
    assert fake.commands[""]  # the default menu, for languages we do not speak


def test_a_full_purchase_with_inline_buttons_and_the_vendor_told_at_once(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    vendor = TelegramUser(fake)
    assert "Abeilles" in "\n".join(m.text for m in vendor.say(f"/link {link_code(stack, 'abeilles-du-saleve')}"))
    deadline = time.monotonic() + 10  # the menu is set just after the answer
    while not fake.commands_for({"type": "chat", "chat_id": vendor.id}) and time.monotonic() < deadline:
        time.sleep(0.05)
    menu = {c["command"]: c["description"] for c in fake.commands_for({"type": "chat", "chat_id": vendor.id})}
    assert {"stock", "price", "products", "ready", "orders"} <= set(menu)  # the vendor's own menu, in French
    assert menu["orders"] == "Commandes à préparer" and "runs" not in menu

    buyer = TelegramUser(fake)
    welcome = buyer.say("/start")
    assert any("Vie privée" in m.text for m in welcome)
    found = buyer.say("je cherche du miel de forêt", expect="Miel de forêt")
    assert any(buttons(m) for m in found), "results come with inline buttons"
    buyer.press("Miel de forêt", expect="panier")
    buyer.press("Commander", expect="Livraison")
    buyer.press("Livraison à domicile", expect="postal")
    buyer.say("1205")
    slot_message = fake.messages_to(buyer.id)[-1]
    buyer.press(buttons(slot_message)[0][0], expect="payer")
    buyer.press("À la livraison", expect="Récapitulatif")
    placed = buyer.press("Confirmer", expect="GE-")
    number = ORDER_NUMBER.search("\n".join(m.text for m in placed))
    assert number, [m.text for m in placed]
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        assert order is not None and order.person.identities[0].external_id == str(buyer.id)
        assert [line.sku for part in order.vendor_orders for line in part.lines] == ["ABE-MIEL-3"]
    told = fake.wait_for(vendor.id, lambda m: number[0] in (m.text or ""), timeout=15)
    assert "Miel de forêt" in told.text

    stocked = vendor.say("/stock miel de foret 12", expect="12")
    assert "Miel de forêt" in stocked[-1].text
    with stack.db.uow() as uow:
        stock = uow.session.scalar(select(Product.stock).where(Product.sku == "ABE-MIEL-3"))
    assert stock == Decimal(12)


def test_paying_in_francs_brings_the_qr_bill_as_a_photo_and_a_pdf(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    buyer = TelegramUser(fake)
    buyer.say("ajoute un pot de miel de forêt", expect="panier")
    buyer.say("je veux commander", expect="Livraison")
    buyer.press("Retrait", expect="créneau")
    slot_message = fake.messages_to(buyer.id)[-1]
    buyer.press(buttons(slot_message)[0][0], expect="payer")
    buyer.press("Francs", expect="Récapitulatif")
    placed = buyer.press("Confirmer", expect="QR-facture")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(m.kind == "document" for m in fake.messages_to(buyer.id)):
        time.sleep(0.1)
    photo = next(m for m in fake.messages_to(buyer.id) if m.kind == "photo")
    document = next(m for m in fake.messages_to(buyer.id) if m.kind == "document")
    # Rasa sends an image's text as its own message, just before the photo.
    assert any("QR-facture" in (m.text or "") for m in placed) and photo.kind == "photo"
    assert ORDER_NUMBER.search("\n".join(m.text or "" for m in placed))
    assert isinstance(document.file, bytes) and document.file.startswith(b"%PDF")


def test_a_deep_link_opens_the_product(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    with stack.db.uow() as uow:
        product_id = uow.session.scalar(select(Product.id).where(Product.sku == "ABE-MIEL-3"))
    answer = TelegramUser(fake, "en").say(f"/start p_{product_id}", expect="Forest honey")
    assert any("Forest honey" in m.text for m in answer)


def test_html_is_escaped_and_unknown_commands_answered(telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    user = TelegramUser(fake, "en")
    answer = user.say("/frobnicate <b>&", expect="/frobnicate")
    assert answer and all(m.parse_mode in (None, "HTML") for m in answer)  # the fake rejects bad HTML with 400
    nonsense = user.say("<script>alert(1)</script> & co")
    assert nonsense, "an answer, not a failed send"


def test_long_button_lists_are_paginated_by_editing_the_message(telegram) -> None:  # type: ignore[no-untyped-def]
    fake, runner = telegram
    user = TelegramUser(fake)
    user.say("bonjour")
    channel = runner.process.channels[0]
    many = tuple(Button(f"Choix {n}", f"/stock item{n} 1") for n in range(1, 15))
    runner.call(channel.send(user.id, [BotMessage("Faites votre choix", many)]))
    message = fake.wait_for(user.id, lambda m: m.text == "Faites votre choix")
    first_page = [t for t, _ in buttons(message)]
    assert "Choix 1" in first_page and "Choix 7" not in first_page and "▶" in first_page
    next_page = next(d for t, d in buttons(message) if t == "▶")
    fake.user_presses(user.id, message.message_id, next_page)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = [t for t, _ in buttons(fake.messages_to(user.id)[-1])]
        if "Choix 7" in shown:
            break
        time.sleep(0.05)
    assert "Choix 7" in shown and "Choix 1" not in shown
    assert len(fake.messages_to(user.id)) == len([m for m in fake.messages_to(user.id)])  # edited, not re-sent


def test_flood_limits_are_kept_and_nothing_is_lost(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    """Twelve notifications for one person at once: the rate limiter spaces them (about 1/s after a
    short burst) so Telegram never answers 429, and a 429 injected anyway is waited out and retried."""
    fake, _ = telegram
    user = TelegramUser(fake)
    user.say("bonjour")  # a bot may only write to people who wrote to it first
    with stack.db.uow() as uow:
        person = person_for_chat(uow, f"telegram:{user.id}")
        for n in range(12):
            enqueue(uow, f"flood-test:{user.id}:{n}", person, "test", f"Notification {n}")
        uow.commit()
    errors_before = fake.flood_errors
    fake.fail_next("sendMessage", 1, error_code=429)  # Telegram says 429 anyway: waited out and retried
    greeting = len(fake.messages_to(user.id))
    fake.wait_for_count(user.id, greeting + 12, timeout=40)
    texts = [m.text for m in fake.messages_to(user.id)[greeting:]]
    assert sorted(texts) == sorted(f"Notification {n}" for n in range(12))  # each once
    assert fake.flood_errors == errors_before + 1, "only the injected 429: our limiter stays under the limit"
    sent_at = [m.sent_at for m in fake.messages_to(user.id)[greeting:]]
    assert sent_at[-1] - sent_at[0] >= 12 - 3 - 1, "after a burst of 3, about one message per second"
    deadline = time.monotonic() + 10  # the last one is marked sent just after Telegram took it
    while time.monotonic() < deadline:
        with stack.db.uow() as uow:
            query = select(OutboxMessage.status).where(OutboxMessage.key.like(f"flood-test:{user.id}:%"))
            statuses = set(uow.session.scalars(query))
        if statuses == {OutboxStatus.SENT}:
            break
        time.sleep(0.1)
    assert statuses == {OutboxStatus.SENT}


def test_when_rasa_is_down_people_are_asked_to_retry_in_their_language(stack: Stack) -> None:
    with FakeTelegramAPI() as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "TELEGRAM_FILE_URL": fake.base_file_url,
        }
        dead_rasa = f"http://127.0.0.1:{free_port()}"
        with BotRunner(bot_process(stack, env, rasa_url=dead_rasa)):
            answer = TelegramUser(fake, "de").say("Ich suche Käse")
            assert "Traceback" not in answer[0].text
            assert answer[0].text.startswith(("Der Dienst", "Le service")) or "vorübergehend" in answer[0].text
            english = TelegramUser(fake, "en").say("any cheese?")
            assert "temporarily unavailable" in english[0].text


class Relay(socketserver.ThreadingTCPServer):
    """Rasa "coming back" at the address the bot knows: a TCP relay from `port` to the running Rasa."""

    daemon_threads = allow_reuse_address = True

    def __init__(self, port: int, target_url: str) -> None:
        target = urlsplit(target_url)
        self.target = (target.hostname or "127.0.0.1", target.port or 80)
        super().__init__(("127.0.0.1", port), Pipe)

    def __enter__(self) -> Relay:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        upstream = socket.create_connection(self.server.target)  # type: ignore[attr-defined]

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                sink.close()

        threading.Thread(target=pump, args=(upstream, self.request), daemon=True).start()
        pump(self.request, upstream)


def test_the_bot_recovers_from_rasa_coming_back_and_from_telegram_errors(stack: Stack) -> None:
    with FakeTelegramAPI() as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "TELEGRAM_FILE_URL": fake.base_file_url,
        }
        rasa_port = free_port()
        with BotRunner(bot_process(stack, env, rasa_url=f"http://127.0.0.1:{rasa_port}")):
            person = TelegramUser(fake, "fr")
            assert person.say("je cherche du gruyère")[0].text.startswith("Le service")
            with Relay(rasa_port, stack.rasa.url):  # Rasa is back: no restart of the bot needed
                fake.fail_next("getUpdates", count=2, error_code=502)  # polling retried with back-off
                fake.fail_next("sendMessage", count=2, error_code=502)  # a reply retried, not lost
                answer = person.say("je cherche du gruyère", expect="Gruyère")
                assert not any(m.text.startswith("Le service") for m in answer)
                assert sum("Gruyère" in (m.text or "") for m in answer) == 1  # sent once, not three times
            assert not fake.internal_errors


def test_webhook_mode_receives_updates_and_refuses_forged_ones(stack: Stack) -> None:
    port = free_port()
    with FakeTelegramAPI() as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
            "TELEGRAM_WEBHOOK_PORT": str(port),
            "TELEGRAM_WEBHOOK_SECRET": "s3cret",
        }
        with BotRunner(bot_process(stack, env)):
            assert fake.webhook == env["TELEGRAM_WEBHOOK_URL"]
            user = next(users)
            fake.user_sends(user, "je cherche du miel")  # registers the chat in the fake
            update = fake.take_updates()[-1]

            def post(secret: str) -> int:
                request = urllib.request.Request(
                    env["TELEGRAM_WEBHOOK_URL"],
                    data=json.dumps(update).encode(),
                    headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        return response.status
                except urllib.error.HTTPError as error:
                    return error.code

            assert post("forged") == 403
            assert post("s3cret") == 200
            assert "Miel" in fake.wait_for(user, lambda m: "Miel" in (m.text or ""), timeout=30).text
