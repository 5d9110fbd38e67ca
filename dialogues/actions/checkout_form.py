"""The checkout form's validator: fills delivery or pickup, postal code, time slot, payment and confirmation
from buttons, entities or free text. The steps around it (questions, summary, the order) are in
`checkout_steps.py`; the rules (which slots to offer, how the basket can be paid) are `checkout.flow`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from babel.numbers import format_decimal
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from bootstrap import App
from checkout.flow import (
    choose_payment,
    offered_slots,
    payment_options,
)
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, local_now, view_basket
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
from marketplace.errors import MarketplaceError, SlotFull
from marketplace.i18n import BABEL_LOCALES, error_message, resolve_language, translate

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
