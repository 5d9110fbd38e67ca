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
from bot.router import MENU
from catalog.models import Product
from checkout.models import Order
from marketplace.accounts import person_for_chat
from marketplace.i18n import format_sale_quantity, translate
from marketplace.outbox import OutboxMessage, OutboxStatus, enqueue
from payments.documents import payment_folder
from payments.models import LegMethod, PaymentLeg
from tests.e2e.conftest import BotRunner, Stack, bot_process, free_port, link_code
from tests.support.shop import basket_lines
from tests.support.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")
WAIT = 90.0  # seconds: generous, for a Rasa turn on a loaded machine; a passing test never waits this long
users = count(770001)

PRIVACY_FR = (  # privacy.notice.start_notice, with Geneva's [privacy] conversation_days
    "Bienvenue ! Ici vous achetez local, par chat. Vie privée : nous gardons seulement votre nom d'affichage, "
    "votre langue, vos adresses de livraison et vos commandes, et nos échanges pendant 90 jours. /privacy : ce que "
    "nous gardons, pourquoi et combien de temps ; /mydata : une copie de vos données ; /forget : les effacer."
)
PRIVACY_EN = (
    "Welcome! Here you buy local, by chat. Privacy: we keep only your display name, your language, your delivery "
    "addresses and your orders, and our conversation for 90 days. /privacy: what we keep, why and for how long; "
    "/mydata: a copy of your data; /forget: erase it."
)
GREETING_FR = (
    "Bonjour ! Je suis l'assistant de GE consomme local : produits et services locaux, payables en francs "
    "ou en Léman. Que cherchez-vous ?"
)
FOREST_HONEY_ADDED = (
    "C'est dans le panier : 1 × 500 g Miel de forêt. Vous en avez 1 × 500 g.\nPanier : 18,50 CHF de marchandises."
)
GRTA = "GRTA (Genève Région – Terre Avenir)"
PRODUCERS_SEE_IT = (
    "Vos producteurs la voient déjà dans leurs commandes. Demandez « où en est ma commande » à tout moment."
)
UNAVAILABLE = {
    "fr": "Le service est momentanément indisponible. Merci de réessayer dans un instant.",
    "de": "Der Dienst ist vorübergehend nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.",
    "en": "The service is temporarily unavailable. Please try again in a moment.",
}
GRUYERE_FOUND = (
    "Voici ce que j'ai trouvé (3) :\n"
    "1. Gruyère AOP d'alpage 12 mois — 34,50 CHF / kg — Fromagerie de la Seymaz — AOP\n"
    "2. Gruyère AOP doux — 24,80 CHF / kg — Fromagerie de la Seymaz — AOP\n"
    "3. Gruyère AOP salé 18 mois — 9,40 CHF / 250 g — Fromagerie de la Seymaz — AOP"
)


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


def plain(text: str) -> str:
    """Text as read: amounts are formatted with no-break spaces ("18,50\u00a0CHF"), which read as spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def texts(messages) -> list[str]:  # type: ignore[no-untyped-def]
    """What the person reads, message by message (photos and documents left out)."""
    return [plain(m.text) for m in messages if m.kind == "text"]


def until(condition, timeout: float = WAIT):  # type: ignore[no-untyped-def]
    """Poll `condition()` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(0.05)
    return result


def requests_to(fake: FakeTelegramAPI, chat_id: int, method: str) -> int:
    """How many `method` calls the bot made for that chat (failed ones included)."""
    return sum(1 for name, params in list(fake.requests) if name == method and params.get("chat_id") == chat_id)


class TelegramUser:
    """A person in a private chat with the bot, typing and pressing buttons."""

    def __init__(self, fake: FakeTelegramAPI, language: str = "fr") -> None:
        self.fake, self.id, self.language = fake, next(users), language

    def say(self, text: str, expect: str) -> list:  # type: ignore[type-arg]
        seen = len(self.fake.messages_to(self.id))
        self.fake.user_sends(self.id, text, language_code=self.language)
        return self._answer(seen, expect)

    def press(self, title_part: str, expect: str) -> list:  # type: ignore[type-arg]
        for message in reversed(self.fake.messages_to(self.id)):
            for title, data in buttons(message):
                if title_part.lower() in title.lower():
                    seen = len(self.fake.messages_to(self.id))
                    query = self.fake.user_presses(self.id, message.message_id, data)
                    answer = self._answer(seen, expect)
                    assert any(c.get("callback_query_id") == query for c in self.fake.answered_callbacks)
                    return answer
        raise AssertionError(f"no button {title_part!r} in {[buttons(m) for m in self.fake.messages_to(self.id)]}")

    def _answer(self, seen: int, expect: str) -> list:  # type: ignore[type-arg]
        """The bot's new messages, once the one containing `expect` (the answer's last) arrived."""
        try:
            return until(
                lambda: (
                    (new := self.fake.messages_to(self.id)[seen:])
                    and any(expect.lower() in (m.text or "").lower() for m in new)
                    and new
                )
            )
        except AssertionError:
            got = [m.text for m in self.fake.messages_to(self.id)[seen:]]
            raise AssertionError(f"expected {expect!r}, got {got}") from None


def test_commands_are_registered_in_every_language(telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    for lang in ("fr", "de", "it", "en"):
        menu = [(c["command"], c["description"]) for c in fake.commands[lang]]
        assert menu == [(command, translate(f"bot.menu.{command}", lang)) for command in MENU]
    assert {"command": "basket", "description": "Mon panier"} in fake.commands["fr"]
    assert {"command": "basket", "description": "My basket"} in fake.commands["en"]
    assert fake.commands[""] == fake.commands["fr"]  # for languages we do not speak: the deployment's first


def test_a_full_purchase_with_inline_buttons_and_the_vendor_told_at_once(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    vendor = TelegramUser(fake)
    linked = vendor.say(f"/link {link_code(stack, 'abeilles-du-saleve')}", expect="C'est fait")
    assert texts(linked) == [
        "C'est fait : vous agissez maintenant pour Les Abeilles du Salève. "
        "Essayez /products, /orders, /stock miel 12 ou /price miel 9.50."
    ]
    scope = {"type": "chat", "chat_id": vendor.id}
    menu = {c["command"]: c["description"] for c in until(lambda: fake.commands_for(scope))}  # set just after
    assert {"stock", "price", "products", "ready", "orders"} <= set(menu)  # the vendor's own menu, in French
    assert menu["orders"] == "Commandes à préparer" and "runs" not in menu

    buyer = TelegramUser(fake)
    assert texts(buyer.say("/start", expect="Que cherchez-vous")) == [PRIVACY_FR, GREETING_FR]
    found = buyer.say("je cherche du miel de forêt", expect="Miel de forêt")
    assert texts(found) == [
        "Voici ce que j'ai trouvé (5) :\n"
        f"1. Miel de forêt — 18,50 CHF / 500 g — Les Abeilles du Salève — {GRTA}\n"
        "2. Visite du rucher et extraction du miel (2 h) — 35,00 CHF / pièce — Les Abeilles du Salève\n"
        f"3. Miel crémeux de printemps — 16,50 CHF / 500 g — Les Abeilles du Salève — {GRTA}\n"
        f"4. Miel d'acacia — 11,00 CHF / 250 g — Les Abeilles du Salève — {GRTA}\n"
        f"5. Miel de fleurs — 16,00 CHF / 500 g — Les Abeilles du Salève — {GRTA}"
    ]
    assert buttons(found[-1])[0][0] == "➕ 1. Miel de forêt", "results come with inline buttons"
    assert texts(buyer.press("Miel de forêt", expect="Panier :")) == [FOREST_HONEY_ADDED]
    assert basket_lines(stack.db, str(buyer.id)) == [("ABE-MIEL-3", Decimal(1))]
    assert texts(buyer.press("Commander", expect="retrait ?")) == ["Livraison à domicile ou retrait ?"]
    asked = texts(buyer.press("Livraison à domicile", expect="adresse"))
    assert asked == [translate("reply.checkout.ask_address", "fr")]
    buyer.say("Rue de Carouge 50, 1205 Genève", expect="quel nom")
    buyer.press("Ana", expect="coursier")  # the name Telegram gives, with one tap
    slots = buyer.press("Pas de téléphone", expect="créneau")
    assert texts(slots)[-1:] == ["Quel créneau vous convient ?"]  # after the share keyboard's line, if still on its way
    slot = buttons(slots[-1])[0][0]
    assert texts(buyer.press(slot, expect="payer")) == [
        "Total 24,50 CHF, dont jusqu'à 18,50 CHF payables en Léman. Comment souhaitez-vous payer ?"
    ]
    assert texts(buyer.press("À la livraison", expect="On confirme")) == [
        "Récapitulatif de votre commande :\nLes Abeilles du Salève\n"
        "  • 1 × 500 g Miel de forêt — 18,50 CHF\n  Sous-total 18,50 CHF, dont jusqu'à 18,50 CHF en Léman\n"
        "Livraison : 6,00 CHF\nTotal : 24,50 CHF (jusqu'à 18,50 CHF payables en Léman)\n"
        f"Livraison à Rue de Carouge 50, 1205 Genève, pour Ana, {plain(slot)}\nPaiement : à la livraison. On confirme ?"
    ]
    placed = buyer.press("Confirmer", expect="À payer à la livraison")
    number = ORDER_NUMBER.search(placed[0].text)
    assert number, texts(placed)
    assert texts(placed) == [
        f"Merci ! Votre commande {number[0]} est enregistrée. Total : 24,50 CHF.\n{PRODUCERS_SEE_IT}\n"
        "À payer à la livraison : 24,50 CHF (espèces, carte ou Léman papier)."
    ]
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        assert order is not None and order.person is not None
        assert order.person.identities[0].external_id == str(buyer.id)
        assert (order.delivery_mode, order.postal_code, order.payment_method) == ("delivery", "1205", "on_delivery")
        assert (order.goods_total, order.delivery_fee, order.total) == (
            Decimal("18.50"),
            Decimal("6.00"),
            Decimal("24.50"),
        )
        lines = [(line.sku, line.quantity, line.unit_price) for part in order.vendor_orders for line in part.lines]
        assert lines == [("ABE-MIEL-3", Decimal(1), Decimal("18.50"))]
    assert basket_lines(stack.db, str(buyer.id)) == []
    told = fake.wait_for(vendor.id, lambda m: number[0] in (m.text or ""), timeout=WAIT)
    assert plain(told.text) == (
        f"🛒 Nouvelle commande {number[0]}\n• 1 500 g Miel de forêt\nTotal : 18,50 CHF\nLivraison {plain(slot)}\n"
        f"Répondez /ready {number[0]} quand elle est prête."
    )

    stocked = vendor.say("/stock miel de foret 12", expect="Stock de")
    assert texts(stocked) == ["Stock de « Miel de forêt » : 12 (500 g)."]
    with stack.db.uow() as uow:
        stock = uow.session.scalar(select(Product.stock).where(Product.sku == "ABE-MIEL-3"))
    assert stock == Decimal(12)


def test_paying_in_francs_brings_the_qr_bill_as_a_photo_and_a_pdf(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    buyer = TelegramUser(fake)
    assert texts(buyer.say("ajoute un pot de miel de forêt", expect="Panier :")) == [FOREST_HONEY_ADDED]
    buyer.say("je veux commander", expect="retrait ?")
    buyer.press("Retrait", expect="retirer")
    slots = buyer.press("Le Grain Vrac", expect="créneau")  # the pickup point
    slot = buttons(slots[-1])[0][0]
    buyer.press(slot, expect="payer")
    assert texts(buyer.press("Francs", expect="On confirme")) == [
        "Récapitulatif de votre commande :\nLes Abeilles du Salève\n"
        "  • 1 × 500 g Miel de forêt — 18,50 CHF\n  Sous-total 18,50 CHF, dont jusqu'à 18,50 CHF en Léman\n"
        "Total : 18,50 CHF (jusqu'à 18,50 CHF payables en Léman)\n"
        "Retrait : Le Grain Vrac, Plainpalais, Rue de Carouge 12, 1205 Genève (mar-sam 9:00-19:00), "
        f"{plain(slot)}\nPaiement : en francs (QR-facture). On confirme ?"
    ]
    placed = buyer.press("Confirmer", expect="Scannez-la")
    document = fake.wait_for(buyer.id, lambda m: m.kind == "document", timeout=WAIT)  # the last thing sent
    number = ORDER_NUMBER.search(placed[0].text)
    assert number, texts(placed)
    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number[0]))
        assert order is not None
        assert (order.delivery_mode, order.payment_method, order.total) == ("pickup", "chf", Decimal("18.50"))
        [leg] = uow.session.scalars(select(PaymentLeg).where(PaymentLeg.order_id == order.id))
        assert (leg.method, leg.currency, leg.amount) == (LegMethod.QR_BILL, "CHF", Decimal("18.50"))
        reference, stem = leg.reference, f"{order.number}-{leg.id}-qr-bill"
    # Rasa sends an image's text as its own message, just before the photo; then comes the PDF.
    assert texts(fake.messages_to(buyer.id)[-4:]) == [
        f"Merci ! Votre commande {number[0]} est enregistrée. Total : 18,50 CHF.\n{PRODUCERS_SEE_IT}",
        f"QR-facture : 18,50 CHF, référence {reference}. Scannez-la avec votre application bancaire.",
    ]
    photo = fake.messages_to(buyer.id)[-2]
    folder = payment_folder(stack.settings)
    assert photo.kind == "photo" and photo.file == (folder / f"{stem}.png").read_bytes()
    assert document is fake.messages_to(buyer.id)[-1] and document.stored_file is not None
    assert document.stored_file.file_name == f"{stem}.pdf"
    assert document.file == (folder / f"{stem}.pdf").read_bytes() and document.file.startswith(b"%PDF")


def test_a_deep_link_opens_the_product(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    fake, _ = telegram
    with stack.db.uow() as uow:
        product_id, stock = uow.session.execute(
            select(Product.id, Product.stock).where(Product.sku == "ABE-MIEL-3")
        ).one()
    answer = TelegramUser(fake, "en").say(f"/start p_{product_id}", expect="In stock")
    assert texts(answer) == [
        PRIVACY_EN,
        f"Forest honey — CHF 18.50 / 500 g — Les Abeilles du Salève — {GRTA}\n"
        "Dark and strong honey from the Salève forests.\nOrigin: Veyrier (6 km)\n100% payable in Léman.\n"
        f"In stock: {format_sale_quantity(stock, '500 g', 'en')}.",
    ]
    assert buttons(answer[-1]) == [
        ("➕ 1. Forest honey", f'/add_to_basket{{"product": "#{product_id}", "quantity": "1"}}')
    ]


def test_html_is_escaped_and_unknown_commands_answered(telegram) -> None:  # type: ignore[no-untyped-def]
    fake, runner = telegram
    user = TelegramUser(fake, "en")
    answer = user.say("/frobnicate <b>&", expect="/frobnicate")
    assert [(m.text.splitlines()[:3], m.parse_mode) for m in answer] == [
        (["I do not know the command /frobnicate. These are the commands you can use:", "/start — Start",
          "/help — What I can do"], "HTML")
    ]  # fmt: skip
    # The fake refuses HTML that is not escaped with 400, as Telegram does: the text arrives as written.
    channel = runner.process.channels[0]
    runner.call(channel.send(user.id, [BotMessage("<script>alert(1)</script> & Kids' <b>workshop")]))
    shown = fake.wait_for(user.id, lambda m: "alert" in m.text, timeout=WAIT)
    assert (shown.text, shown.parse_mode) == ("<script>alert(1)</script> & Kids' <b>workshop", "HTML")
    assert shown.raw_text == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Kids&#x27; &lt;b&gt;workshop"


def test_long_button_lists_are_paginated_by_editing_the_message(telegram) -> None:  # type: ignore[no-untyped-def]
    fake, runner = telegram
    user = TelegramUser(fake)
    user.say("bonjour", expect="Que cherchez-vous")  # a bot may only write to people who wrote to it first
    channel = runner.process.channels[0]
    many = tuple(Button(f"Choix {n}", f"/stock item{n} 1") for n in range(1, 15))
    runner.call(channel.send(user.id, [BotMessage("Faites votre choix", many)]))
    message = fake.wait_for(user.id, lambda m: m.text == "Faites votre choix", timeout=WAIT)
    assert [t for t, _ in buttons(message)] == [f"Choix {n}" for n in range(1, 7)] + ["1/3", "▶"]
    sends, edits = requests_to(fake, user.id, "sendMessage"), requests_to(fake, user.id, "editMessageReplyMarkup")
    next_page = next(d for t, d in buttons(message) if t == "▶")
    fake.user_presses(user.id, message.message_id, next_page)
    turned = fake.wait_for(user.id, lambda m: m.message_id == message.message_id, timeout=WAIT)
    assert [t for t, _ in buttons(turned)] == [f"Choix {n}" for n in range(7, 13)] + ["◀", "2/3", "▶"]
    assert turned.text == "Faites votre choix" and len(turned.edits) == 1
    # Edited, not re-sent: no message went out for the page turn, one edit did.
    assert requests_to(fake, user.id, "sendMessage") == sends
    assert requests_to(fake, user.id, "editMessageReplyMarkup") == edits + 1
    assert fake.messages_to(user.id)[-1] is turned


def test_flood_limits_are_kept_and_nothing_is_lost(stack: Stack, telegram) -> None:  # type: ignore[no-untyped-def]
    """Twelve notifications for one person at once: the rate limiter spaces them (about 1/s after a
    short burst) so Telegram never answers 429, and a 429 injected anyway is waited out and retried.
    The fake refuses anything faster than its limits with 429, so counting 429s checks the spacing."""
    fake, _ = telegram
    user = TelegramUser(fake)
    user.say("bonjour", expect="Que cherchez-vous")  # a bot may only write to people who wrote to it first
    with stack.db.uow() as uow:
        person = person_for_chat(uow, f"telegram:{user.id}")
        for n in range(12):
            enqueue(uow, f"flood-test:{user.id}:{n}", person, "test", f"Notification {n}")
        uow.commit()
    errors_before = fake.flood_errors
    fake.fail_next("sendMessage", 1, error_code=429)  # Telegram says 429 anyway: waited out and retried
    greeting = len(fake.messages_to(user.id))
    fake.wait_for_count(user.id, greeting + 12, timeout=WAIT)
    texts_sent = [m.text for m in fake.messages_to(user.id)[greeting:]]
    assert sorted(texts_sent) == sorted(f"Notification {n}" for n in range(12))  # each once
    assert fake.flood_errors == errors_before + 1, "only the injected 429: our limiter stays under the limit"

    def statuses() -> set[str]:  # the last one is marked sent just after Telegram took it
        with stack.db.uow() as uow:
            query = select(OutboxMessage.status).where(OutboxMessage.key.like(f"flood-test:{user.id}:%"))
            return set(uow.session.scalars(query))

    until(lambda: statuses() == {OutboxStatus.SENT})


def test_when_rasa_is_down_people_are_asked_to_retry_in_their_language(stack: Stack) -> None:
    with FakeTelegramAPI() as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "TELEGRAM_FILE_URL": fake.base_file_url,
        }
        dead_rasa = f"http://127.0.0.1:{free_port()}"
        with BotRunner(bot_process(stack, env, rasa_url=dead_rasa)):
            answer = TelegramUser(fake, "de").say("Ich suche Käse", expect="Dienst")
            assert texts(answer) == [UNAVAILABLE["de"]]
            english = TelegramUser(fake, "en").say("any cheese?", expect="service")
            assert texts(english) == [UNAVAILABLE["en"]]


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
            assert texts(person.say("je cherche du gruyère", expect="service")) == [UNAVAILABLE["fr"]]
            with Relay(rasa_port, stack.rasa.url):  # Rasa is back: no restart of the bot needed
                fake.fail_next("getUpdates", count=2, error_code=502)  # polling retried with back-off
                fake.fail_next("sendMessage", count=2, error_code=502)  # a reply retried, not lost
                answer = person.say("je cherche du gruyère", expect="Gruyère")
                assert texts(answer) == [GRUYERE_FOUND]  # sent once, not three times
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
            found = fake.wait_for(user, lambda m: "Miel" in (m.text or ""), timeout=WAIT)
            assert plain(found.text) == (
                "Voici ce que j'ai trouvé (5) :\n"
                f"1. Miel crémeux de printemps — 16,50 CHF / 500 g — Les Abeilles du Salève — {GRTA}\n"
                f"2. Miel d'acacia — 11,00 CHF / 250 g — Les Abeilles du Salève — {GRTA}\n"
                f"3. Miel de fleurs — 16,00 CHF / 500 g — Les Abeilles du Salève — {GRTA}\n"
                f"4. Miel de fleurs — 9,00 CHF / 250 g — Les Abeilles du Salève — {GRTA}\n"
                f"5. Miel de forêt — 18,50 CHF / 500 g — Les Abeilles du Salève — {GRTA}"
            )
            assert fake.messages_to(user) == [found], "the forged update was not answered"
