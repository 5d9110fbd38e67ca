"""The checkout form: delivery or pickup, postal code, time slot, payment, confirmation — then the order.

The rules (which slots to offer, how the basket can be paid, what it costs, placing it and its payment
documents) are the checkout flow's, `checkout.flow`; these actions read the form's slots, call it and render.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from babel.numbers import format_decimal
from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from bootstrap import App
from checkout.flow import (
    choose_payment,
    offered_slots,
    payment_options,
    place_checkout,
    preview_checkout,
)
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, local_now, view_basket
from dialogues.actions.base import (
    MarketplaceAction,
    Reply,
    Turn,
    chat_address,
    latest_entity,
    latest_intent,
    marketplace,
    metadata_language,
    typed_text,
)
from dialogues.actions.parsing import (
    parse_amount,
    parse_delivery_mode,
    parse_payment_method,
    parse_postal_code,
    parse_time_slot,
)
from dialogues.actions.shopping import basket_summary, payload
from marketplace.accounts import Person, person_for_chat
from marketplace.db import UnitOfWork
from marketplace.errors import MarketplaceError, SlotFull
from marketplace.i18n import BABEL_LOCALES, error_message, resolve_language, translate
from payments.documents import PaymentDocument
from payments.models import LegMethod

FORM_SLOTS = ("delivery_mode", "postal_code", "time_slot", "payment_method", "order_confirmed")
T = TypeVar("T")


def _typed(tracker: Tracker) -> str:
    """What the person typed; a button payload ("/intent{...}") carries its values as entities instead."""
    text = typed_text(tracker)
    return "" if text.startswith("/") else text


def checkout_choice(tracker: Tracker) -> DeliveryChoice:
    """The customer's choices so far, from the form's slots."""
    slots = tracker.get_slot
    return DeliveryChoice(
        mode=slots("delivery_mode") or "delivery",
        postal_code=slots("postal_code") or "",
        time_slot=slots("time_slot") or "",
        payment_method=PaymentMethod.parse(slots("payment_method")) or PaymentMethod.CHF,
    )


def in_core(tracker: Tracker, work: Callable[[App, UnitOfWork, Person, str], T]) -> T:
    """The form validator's one way into the core (it is no MarketplaceAction): `work` gets the marketplace,
    a unit of work (committed after it), the sender and the language to answer in. Run it in a worker thread."""
    app = marketplace()
    with app.db.uow() as uow:
        platform = metadata_language(tracker)
        person = person_for_chat(uow, chat_address(tracker.sender_id), platform)
        lang = resolve_language(app.settings.languages, tracker.get_slot("language"), platform, person.language)
        result = work(app, uow, person, lang)
        uow.commit()
        return result


def local_amount(amount: Decimal, lang: str) -> str:
    """An amount of local currency, written without a currency sign ("4,80"): its name follows it."""
    return format_decimal(amount, format="#,##0.00", locale=BABEL_LOCALES.get(lang, "fr_CH"))


# Messages that answer the form's question; anything else (a search, a question) interrupts it.
ANSWERS = {"choose_delivery", "choose_payment", "affirm", "deny", "checkout", "nlu_fallback", "out_of_scope"}


class ValidateCheckoutForm(FormValidationAction):
    """Fills the form's slots from buttons, entities or free text, and checks them against the deployment."""

    def name(self) -> str:
        return "validate_checkout_form"

    async def required_slots(
        self, domain_slots: list[str], _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict[str, Any]
    ) -> list[str]:
        empty = await asyncio.to_thread(
            in_core, tracker, lambda app, uow, person, lang: view_basket(uow, app.settings, person, lang).is_empty
        )
        if empty:  # nothing to check out: the form ends at once; action_submit_order says why
            return []
        if tracker.get_slot("delivery_mode") == "pickup":
            return [s for s in domain_slots if s != "postal_code"]
        return domain_slots

    def _answering(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot and (
            latest_intent(tracker) in ANSWERS or bool(latest_entity(tracker, slot))
        )

    async def extract_delivery_mode(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        mode = latest_entity(tracker, "delivery_mode") or parse_delivery_mode(_typed(tracker))
        if not mode or not (self._answering(tracker, "delivery_mode") or latest_entity(tracker, "delivery_mode")):
            return {}
        found: dict[str, Any] = {"delivery_mode": mode}
        code = latest_entity(tracker, "postal_code") or parse_postal_code(_typed(tracker))
        if mode == "delivery" and code:
            found["postal_code"] = code
        return found

    async def extract_postal_code(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "postal_code":
            return {}
        code = latest_entity(tracker, "postal_code") or parse_postal_code(_typed(tracker))
        if code:
            return {"postal_code": code}
        if latest_entity(tracker, "delivery_mode") == "pickup" or parse_delivery_mode(_typed(tracker)) == "pickup":
            return {"delivery_mode": "pickup"}
        return {}

    async def extract_time_slot(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "time_slot":
            return {}
        mode, code = tracker.get_slot("delivery_mode"), tracker.get_slot("postal_code")

        def offered(app: App, uow: UnitOfWork, _person: Person, _lang: str) -> tuple[list[str], date]:
            now = local_now(app.settings)
            return offered_slots(uow, app.settings, mode, code, now), now.date()

        slots, today = await asyncio.to_thread(in_core, tracker, offered)
        slot = parse_time_slot(latest_entity(tracker, "time_slot") or _typed(tracker), slots, today)
        return {"time_slot": slot} if slot else {}

    async def extract_payment_method(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "payment_method":
            return {}
        typed = _typed(tracker)
        method = PaymentMethod.parse(latest_entity(tracker, "payment_method")) or parse_payment_method(typed)
        if method is None:
            return {}
        # "20 en lémans", "mixte, 15 leman": an amount of local currency, the rest in francs.
        amount = parse_amount(typed) if method.uses_local_currency else None
        chosen = await asyncio.to_thread(
            in_core, tracker, lambda _app, uow, person, _lang: choose_payment(uow, person, method, amount)
        )
        return {"payment_method": chosen.value}

    async def extract_order_confirmed(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "order_confirmed":
            return {}
        intent = latest_intent(tracker)
        if intent == "affirm":
            return {"order_confirmed": True}
        if intent == "deny":
            return {"order_confirmed": False}
        return {}

    async def validate_postal_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        settings = marketplace().settings
        if value and settings.delivery.serves(str(value)):
            return {"postal_code": str(value)}
        lang = resolve_language(settings.languages, tracker.get_slot("language"), metadata_language(tracker))
        dispatcher.utter_message(
            text=translate("error.delivery_not_available", lang, postal_code=str(value)[:8]),
            buttons=[
                {
                    "title": translate("button.pickup", lang),
                    "payload": payload("choose_delivery", delivery_mode="pickup"),
                }
            ],
        )
        return {"postal_code": None}

    async def validate_payment_method(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ):
        if PaymentMethod.parse(value) is not PaymentMethod.LEMAN:
            return {"payment_method": value}
        return await asyncio.to_thread(
            in_core, tracker, lambda *core: self._check_leman_only(dispatcher, tracker, *core)
        )

    def _check_leman_only(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, app: App, uow: UnitOfWork, person: Person, lang: str
    ) -> dict:
        """All in Léman only when the flow says it can pay everything; otherwise offer the mix."""
        reply = Reply(dispatcher, lang)
        try:
            options = payment_options(uow, app.settings, person, checkout_choice(tracker))
        except MarketplaceError as error:  # the slot filled up meanwhile, the basket was emptied elsewhere...
            reply.line(error_message(error, lang))
            reply.send()
            # A slot that filled up is chosen again; anything else asks for the payment again.
            return {"payment_method": None} | ({"time_slot": None} if isinstance(error, SlotFull) else {})
        if options.all_in_leman:
            return {"payment_method": PaymentMethod.LEMAN.value}
        currency = app.settings.local_currency.name
        reply.say(
            "reply.checkout.leman_partial",
            leman=reply.chf(options.leman_payable),
            total=reply.chf(options.total),
            currency=currency,
        )
        reply.button(
            "button.pay_mixed", payload("choose_payment", payment_method=PaymentMethod.MIXED), currency=currency
        )
        reply.button("button.pay_chf", payload("choose_payment", payment_method=PaymentMethod.CHF))
        reply.send()
        return {"payment_method": None}


class AskAction(MarketplaceAction):
    """Asks for one slot of the checkout form, with buttons."""

    def on_error(self, error: MarketplaceError) -> list[EventType]:
        # The chosen delivery slot filled up or passed its cut-off since it was chosen: ask for another.
        return [SlotSet("time_slot", None)] if isinstance(error, SlotFull) else []


class ActionAskDeliveryMode(AskAction):
    action_name = "action_ask_delivery_mode"

    def handle(self, turn: Turn) -> list[EventType]:
        turn.reply.say("reply.checkout.ask_delivery")
        turn.reply.button("button.delivery", payload("choose_delivery", delivery_mode="delivery"))
        if turn.app.settings.delivery.pickup:
            turn.reply.button("button.pickup", payload("choose_delivery", delivery_mode="pickup"))
        return []


class ActionAskPostalCode(AskAction):
    action_name = "action_ask_postal_code"

    def handle(self, turn: Turn) -> list[EventType]:
        turn.reply.say("reply.checkout.ask_postal_code")
        return []


class ActionAskTimeSlot(AskAction):
    action_name = "action_ask_time_slot"

    def handle(self, turn: Turn) -> list[EventType]:
        slots = turn.tracker.get_slot
        offered = offered_slots(turn.uow, turn.app.settings, slots("delivery_mode"), slots("postal_code"))
        if not offered:  # every slot serving this postal code is full for the coming days
            turn.reply.say("reply.checkout.no_slot")
            turn.reply.button("button.pickup", payload("choose_delivery", delivery_mode="pickup"))
            return []
        turn.reply.say("reply.checkout.ask_time_slot")
        for slot in offered[:6]:
            turn.reply.buttons.append(
                {"title": turn.reply.slot(slot), "payload": payload("choose_delivery", time_slot=slot)}
            )
        return []


class ActionAskPaymentMethod(AskAction):
    action_name = "action_ask_payment_method"

    def handle(self, turn: Turn) -> list[EventType]:
        reply = turn.reply
        options = payment_options(turn.uow, turn.app.settings, turn.person, checkout_choice(turn.tracker))
        currency = turn.app.settings.local_currency.name
        reply.say(
            "reply.checkout.ask_payment",
            total=reply.chf(options.total),
            leman=reply.chf(options.leman_payable),
            currency=currency,
        )
        for method in options.methods:
            reply.button(f"button.pay_{method}", payload("choose_payment", payment_method=method), currency=currency)
        return []


class ActionAskOrderConfirmed(AskAction):
    action_name = "action_ask_order_confirmed"

    def handle(self, turn: Turn) -> list[EventType]:
        reply, settings = turn.reply, turn.app.settings
        preview = preview_checkout(turn.uow, settings, turn.person, turn.lang, checkout_choice(turn.tracker))
        choice, currency = preview.choice, settings.local_currency.name
        reply.say("reply.checkout.summary")
        basket_summary(reply, preview.basket, currency)
        if choice.mode == "delivery":
            reply.say(
                "reply.checkout.summary_delivery", postal_code=choice.postal_code, slot=reply.slot(choice.time_slot)
            )
        else:
            reply.say("reply.checkout.summary_pickup", slot=reply.slot(choice.time_slot))
        method = choice.payment_method
        reply.say("reply.checkout.summary_payment", method=reply.t(f"payment.{method}", currency=currency))
        if method.uses_local_currency:
            reply.say(
                "reply.checkout.summary_split",
                chf=reply.chf(preview.chf),
                leman=local_amount(preview.leman, turn.lang),
                currency=currency,
            )
        reply.button("button.confirm", "/affirm")
        reply.button("button.cancel", "/deny")
        return []


class ActionSubmitOrder(MarketplaceAction):
    action_name = "action_submit_order"

    def handle(self, turn: Turn) -> list[EventType]:
        slots = turn.tracker.get_slot
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if slots("order_confirmed") is None:  # the form ended at once: the basket is empty
            turn.reply.say("error.empty_basket")
            return reset
        if not slots("order_confirmed"):
            turn.reply.say("reply.checkout.cancelled")
            return reset
        placed = place_checkout(turn.uow, turn.app.settings, turn.person, turn.lang, checkout_choice(turn.tracker))
        reply = turn.reply
        reply.say("reply.checkout.placed", number=placed.number, total=reply.chf(placed.total))
        reply.say("reply.checkout.next_steps")
        for document in placed.documents:
            render_payment_document(reply, document, turn.app.settings.local_currency.name)
        return reset

    def on_error(self, _error: MarketplaceError) -> list[EventType]:
        return [SlotSet(slot, None) for slot in FORM_SLOTS]


def render_payment_document(reply: Reply, document: PaymentDocument, currency: str) -> None:
    """The QR-bill for the francs (image and PDF), the e-Léman QR code for the Léman, or what to have ready
    for the courier; with one payment per vendor, each caption says whom it pays."""
    whom = ""
    if document.vendor_name:
        whom = reply.t("reply.payment.part_for", vendor=document.vendor_name) + " "
    elif document.pays_delivery_fee:
        whom = reply.t("reply.payment.part_delivery") + " "
    if document.kind == LegMethod.QR_BILL:
        caption = reply.t("reply.payment.qr_bill", amount=reply.chf(document.amount), reference=document.reference)
        reply.attach("image", str(document.image), whom + caption)
        reply.attach("document", str(document.pdf), "")
    elif document.kind == LegMethod.LEMAN:
        caption = reply.t("reply.payment.leman", amount=local_amount(document.amount, reply.lang), currency=currency)
        reply.attach("image", str(document.image), whom + caption)
    else:
        reply.say("reply.payment.on_delivery", amount=reply.chf(document.amount))


class ActionInterruptCheckout(MarketplaceAction):
    """A question in the middle of checkout: answer it, then the form asks its question again."""

    action_name = "action_interrupt_checkout"

    def handle(self, turn: Turn) -> list[EventType]:
        from dialogues.actions import HANDLERS

        handler = HANDLERS.get(turn.intent)
        events = handler.handle(turn) if handler else []
        turn.reply.say("reply.checkout.resume")
        return events or []
