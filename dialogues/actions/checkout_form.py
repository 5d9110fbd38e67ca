"""The checkout form's validator: fills delivery or pickup, postal code, time slot, payment and confirmation
from buttons, entities or free text. The steps around it (questions, summary, the order) are in
`checkout_steps.py`; the rules (which slots to offer, how the basket can be paid) are `checkout.flow`'s.

A button's payload is text anyone can type (`/choose_delivery{"time_slot": "..."}`, or `/ choose_delivery{...}`
with a space: Rasa's RegexMessageHandler strips the intent name and unpacks both the same way), so a value
from an entity is checked against what is offered exactly like a typed one: a slot among the offered slots,
a served postal code, a mode and a payment method the basket allows. A refused value gets an answer and its
question again. The confirmation counts only as the answer to the summary just shown, carrying no other choice.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from babel.numbers import format_decimal
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from bootstrap import App
from checkout.delivery import DeliveryModeNotOffered, SlotNotOffered
from checkout.flow import (
    PaymentNotOffered,
    check_time_slot,
    choose_payment,
    confirm_checkout,
    offered_slots,
    payment_options,
)
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, check_delivery, check_delivery_mode, local_now, view_basket
from dialogues.actions.base import (
    Reply,
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
from dialogues.actions.shopping import payload
from marketplace.accounts import Person, person_for_chat
from marketplace.db import UnitOfWork
from marketplace.errors import DeliveryNotAvailable, MarketplaceError, SlotFull
from marketplace.i18n import BABEL_LOCALES, error_message, resolve_language, translate

FORM_SLOTS = ("delivery_mode", "postal_code", "time_slot", "payment_method", "order_confirmed")
CHOICES = FORM_SLOTS[:-1]  # what the customer chooses; entities of the same names carry them in payloads
# Key of the summary message's metadata: the fingerprint of what it shows. Rasa keeps it with the message in
# the conversation's events (no channel shows it); it is no entity, so no payload can carry it.
SUMMARY_KEY = "checkout_summary"
T = TypeVar("T")


def _typed(tracker: Tracker) -> str:
    """What the person typed; a payload ("/intent{...}", "/ intent{...}") carries its values as entities instead."""
    text = typed_text(tracker)
    return "" if text.lstrip().startswith("/") else text


def checkout_now(app: App) -> datetime:
    """The marketplace's local time by its clock: what is offered is offered now."""
    return local_now(app.settings, app.clock)


def shown_summary(tracker: Tracker) -> str | None:
    """The fingerprint of the summary the person's latest message answers: the last message the bot sent
    before it, if that was the checkout's summary. None when the person answers anything else."""
    events = [event for event in tracker.events or [] if isinstance(event, dict)]
    latest_user = next((i for i in range(len(events) - 1, -1, -1) if events[i].get("event") == "user"), None)
    for event in reversed(events[:latest_user] if latest_user is not None else []):
        if event.get("event") == "bot":
            metadata = event.get("metadata")
            fingerprint = metadata.get(SUMMARY_KEY) if isinstance(metadata, dict) else None
            return str(fingerprint) if fingerprint else None
    return None


def cleared_by(error: MarketplaceError) -> dict[str, None]:
    """The choice a refusal is about, emptied so the form asks for it again; {} when no choice is at fault."""
    if isinstance(error, SlotFull | SlotNotOffered):
        return {"time_slot": None}
    if isinstance(error, PaymentNotOffered):
        return {"payment_method": None}
    if isinstance(error, DeliveryModeNotOffered):
        return {"delivery_mode": None}
    if isinstance(error, DeliveryNotAvailable):  # a postal code not served
        return {"postal_code": None}
    return {}


def _after_change(tracker: Tracker, found: dict[str, Any]) -> dict[str, Any]:
    """Another delivery mode or postal code offers other slots and fees: the slot and payment are asked again."""
    changed = any(
        name in found and tracker.get_slot(name) not in (None, found[name]) for name in ("delivery_mode", "postal_code")
    )
    return found | {"time_slot": None, "payment_method": None} if changed else found


def checkout_choice(tracker: Tracker) -> DeliveryChoice:
    """The customer's choices so far, from the form's slots (as text, whatever set them: the core checks them)."""
    slots = tracker.get_slot
    return DeliveryChoice(
        mode=str(slots("delivery_mode") or "delivery"),
        postal_code=str(slots("postal_code") or ""),
        time_slot=str(slots("time_slot") or ""),
        payment_method=PaymentMethod.parse(slots("payment_method")) or PaymentMethod.CHF,
    )


def chosen_checkout(tracker: Tracker) -> DeliveryChoice:
    """The choices to summarise, confirm or place: a payment method not chosen, or one we do not know, is
    refused (PaymentNotOffered) rather than taken for francs as `checkout_choice` does while asking."""
    method = tracker.get_slot("payment_method")
    if PaymentMethod.parse(method) is None:
        raise PaymentNotOffered(method=str(method)[:20])
    return checkout_choice(tracker)


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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        # rasa-sdk reads every event as a dict: a malformed one in a tracker posted to us is dropped, not a crash.
        tracker.events = [event for event in tracker.events or [] if isinstance(event, dict)]
        return await super().run(dispatcher, tracker, domain)

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
        return _after_change(tracker, found)

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
        # A button's value is taken as it is, and `validate_time_slot` checks it is offered, as a typed one.
        pressed = latest_entity(tracker, "time_slot")
        if pressed is not None:
            return {"time_slot": pressed}
        typed = _typed(tracker)
        if not typed:
            return {}
        mode, code = tracker.get_slot("delivery_mode"), tracker.get_slot("postal_code")

        def offered(app: App, uow: UnitOfWork, _person: Person, _lang: str) -> tuple[list[str], date]:
            now = checkout_now(app)
            return offered_slots(uow, app.settings, mode, code, now), now.date()

        slots, today = await asyncio.to_thread(in_core, tracker, offered)
        slot = parse_time_slot(typed, slots, today)
        return {"time_slot": slot} if slot else {}

    async def extract_payment_method(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "payment_method":
            return {}
        typed, pressed = _typed(tracker), latest_entity(tracker, "payment_method")
        method = PaymentMethod.parse(pressed) if pressed is not None else parse_payment_method(typed)
        if method is None:  # a payload naming no method we know: `validate_payment_method` says so
            return {"payment_method": pressed} if pressed is not None else {}
        # "20 en lémans", "mixte, 15 leman": an amount of local currency, the rest in francs.
        amount = parse_amount(typed) if method.uses_local_currency else None
        chosen = await asyncio.to_thread(
            in_core, tracker, lambda _app, uow, person, _lang: choose_payment(uow, person, method, amount)
        )
        return {"payment_method": chosen.value}

    async def extract_order_confirmed(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "order_confirmed":
            return {}
        if any(latest_entity(tracker, name) is not None for name in CHOICES):
            return {}  # "/affirm{"delivery_mode": ...}" changes a choice: that summary is no longer the order
        intent = latest_intent(tracker)
        if intent == "affirm":
            return {"order_confirmed": True}
        if intent == "deny":
            return {"order_confirmed": False}
        return {}

    async def validate_delivery_mode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        settings = marketplace().settings
        try:
            if value is not None:
                check_delivery_mode(settings, str(value))
            return {"delivery_mode": value}
        except MarketplaceError as error:  # a payload's mode we do not offer: the question comes again
            lang = resolve_language(settings.languages, tracker.get_slot("language"), metadata_language(tracker))
            dispatcher.utter_message(text=error_message(error, lang))
            return {"delivery_mode": None}

    async def validate_postal_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        settings = marketplace().settings
        if value is None:  # emptied with the delivery mode: asked again, nothing to say
            return {"postal_code": None}
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

    async def validate_time_slot(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        if value is None:  # emptied with the delivery mode or postal code: asked again, nothing to say
            return {"time_slot": None}

        def check(app: App, uow: UnitOfWork, _person: Person, lang: str) -> str | None:
            """The refusal to say ("" for none), None when the slot is offered now for this mode and postal code."""
            choice = dataclasses.replace(checkout_choice(tracker), time_slot=str(value))
            try:
                check_delivery(app.settings, choice)
            except MarketplaceError:  # no mode or postal code to offer slots for yet: asked first, then the slot
                return ""
            try:
                check_time_slot(uow, app.settings, choice, checkout_now(app))
            except MarketplaceError as error:
                return error_message(error, lang)
            return None

        refusal = await asyncio.to_thread(in_core, tracker, check)
        if refusal is None:
            return {"time_slot": str(value)}
        if refusal:
            dispatcher.utter_message(text=refusal)  # then the offered slots again, as buttons
        return {"time_slot": None}

    async def validate_payment_method(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ):
        if value is None:  # emptied with the delivery mode or postal code: asked again, nothing to say
            return {"payment_method": None}
        return await asyncio.to_thread(
            in_core, tracker, lambda *core: self._check_payment(dispatcher, tracker, value, *core)
        )

    def _check_payment(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        value: Any,
        app: App,
        uow: UnitOfWork,
        person: Person,
        lang: str,
    ) -> dict:
        """A method the flow allows for this basket; all in Léman only when it pays everything, else the mix is
        offered; anything else (a payload's unknown method) is refused and asked again."""
        reply = Reply(dispatcher, lang)
        method = PaymentMethod.parse(value)
        try:
            options = payment_options(uow, app.settings, person, checkout_choice(tracker), checkout_now(app))
        except MarketplaceError as error:  # the slot filled up meanwhile, the basket was emptied elsewhere...
            reply.line(error_message(error, lang))
            reply.send()
            # A slot that filled up is chosen again; anything else asks for the payment again.
            return {"payment_method": None} | cleared_by(error)
        if method is not None and options.allows(method):
            return {"payment_method": method.value}
        if method is not PaymentMethod.LEMAN:
            reply.line(error_message(PaymentNotOffered(method=str(value)[:20]), lang))
            reply.send()
            return {"payment_method": None}
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

    async def validate_order_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        """A "yes" places the order only as the answer to the summary just shown, and only if the order would
        still charge what it showed: otherwise the person is told why and sees the summary (again)."""
        if value is not True:
            return {"order_confirmed": False if value is False else None}
        shown = shown_summary(tracker)

        def check(app: App, uow: UnitOfWork, person: Person, lang: str) -> dict:
            try:
                confirm_checkout(uow, app.settings, person, lang, chosen_checkout(tracker), shown, checkout_now(app))
            except MarketplaceError as error:
                dispatcher.utter_message(text=error_message(error, lang))
                return {"order_confirmed": None} | cleared_by(error)
            return {"order_confirmed": True}

        return await asyncio.to_thread(in_core, tracker, check)
