"""The checkout form: delivery or pickup, postal code, time slot, payment, confirmation — then the order."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from checkout import delivery
from checkout.models import Order
from checkout.services import BasketView, DeliveryChoice, leman_wanted, place_order, set_leman_wanted, view_basket
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
    time_slots,
)
from dialogues.actions.shopping import basket_summary, payload
from marketplace.accounts import person_for_chat
from marketplace.db import UnitOfWork
from marketplace.i18n import BABEL_LOCALES, translate
from payments.leman import payment_request, qr_png
from payments.models import PaymentMethod
from payments.qr_bill import make_qr_bill
from payments.services import cash_due, open_payment, wanted_for
from payments.split import VendorShare, split

FORM_SLOTS = ("delivery_mode", "postal_code", "time_slot", "payment_method", "order_confirmed")


def _typed(tracker: Tracker) -> str:
    """What the person typed; a button payload ("/intent{...}") carries its values as entities instead."""
    text = typed_text(tracker)
    return "" if text.startswith("/") else text


def local_today() -> date:
    return datetime.now(ZoneInfo(marketplace().settings.timezone)).date()


def offered_slots(uow: UnitOfWork | None = None, mode: str | None = None, postal_code: str | None = None) -> list[str]:
    """The time slots to offer: for home delivery, the delivery companies' own slots that serve this
    postal code and still have room; otherwise (pickup, or no company slots yet) the configured windows.
    Pass the action's unit of work when there is one (SQLite allows one writer at a time)."""
    app = marketplace()
    settings = app.settings
    if mode != "pickup" and postal_code:
        if uow is None:
            with app.db.uow() as own:
                return offered_slots(own, mode, postal_code)
        if delivery.has_slots(uow):
            now = datetime.now(ZoneInfo(settings.timezone))
            days = settings.delivery.days_ahead + 4
            return [offer.label for offer in delivery.available_slots(uow, postal_code, now, days)]
    return time_slots(local_today(), settings.delivery.time_windows, settings.delivery.days_ahead)


# Messages that answer the form's question; anything else (a search, a question) interrupts it.
ANSWERS = {"choose_delivery", "choose_payment", "affirm", "deny", "checkout", "nlu_fallback", "out_of_scope"}


class ValidateCheckoutForm(FormValidationAction):
    """Fills the form's slots from buttons, entities or free text, and checks them against the deployment."""

    def name(self) -> str:
        return "validate_checkout_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        basket, _ = await asyncio.to_thread(basket_of, tracker)
        if basket.is_empty:  # nothing to check out: the form ends at once; action_submit_order says why
            return []
        if tracker.get_slot("delivery_mode") == "pickup":
            return [s for s in domain_slots if s != "postal_code"]
        return domain_slots

    def _answering(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot and (
            latest_intent(tracker) in ANSWERS or bool(latest_entity(tracker, slot))
        )

    async def extract_delivery_mode(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        mode = latest_entity(tracker, "delivery_mode") or parse_delivery_mode(_typed(tracker))
        if not mode or not (self._answering(tracker, "delivery_mode") or latest_entity(tracker, "delivery_mode")):
            return {}
        found: dict[str, Any] = {"delivery_mode": mode}
        code = latest_entity(tracker, "postal_code") or parse_postal_code(_typed(tracker))
        if mode == "delivery" and code:
            found["postal_code"] = code
        return found

    async def extract_postal_code(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "postal_code":
            return {}
        code = latest_entity(tracker, "postal_code") or parse_postal_code(_typed(tracker))
        if code:
            return {"postal_code": code}
        if latest_entity(tracker, "delivery_mode") == "pickup" or parse_delivery_mode(_typed(tracker)) == "pickup":
            return {"delivery_mode": "pickup"}
        return {}

    async def extract_time_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "time_slot":
            return {}
        text = latest_entity(tracker, "time_slot") or _typed(tracker)
        offered = offered_slots(None, tracker.get_slot("delivery_mode"), tracker.get_slot("postal_code"))
        slot = parse_time_slot(text, offered, local_today())
        return {"time_slot": slot} if slot else {}

    async def extract_payment_method(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "payment_method":
            return {}
        typed = _typed(tracker)
        method = latest_entity(tracker, "payment_method") or parse_payment_method(typed)
        # "20 en lémans", "mixte, 15 leman": an amount of local currency, the rest in francs.
        amount = parse_amount(typed) if method in ("leman", "mixed") else None
        if method in ("chf", "leman", "mixed", "on_delivery"):
            await asyncio.to_thread(_remember_leman_wanted, tracker, amount)
            return {"payment_method": "mixed" if amount is not None else method}
        return {}

    async def extract_order_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if tracker.get_slot("requested_slot") != "order_confirmed":
            return {}
        intent = latest_intent(tracker)
        if intent == "affirm":
            return {"order_confirmed": True}
        if intent == "deny":
            return {"order_confirmed": False}
        return {}

    async def validate_postal_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        settings = marketplace().settings
        if value and settings.delivery.serves(str(value)):
            return {"postal_code": str(value)}
        lang = tracker.get_slot("language") or settings.default_language
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
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ):
        if value != "leman":
            return {"payment_method": value}
        return await asyncio.to_thread(self._check_leman_only, dispatcher, tracker)

    def _check_leman_only(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict:
        """All in Léman only works if every vendor accepts 100 %; otherwise offer the mix."""
        app = marketplace()
        basket, lang = basket_of(tracker)
        quote = basket.quote
        if quote.leman_payable >= quote.goods_total and not quote.delivery_fee:
            return {"payment_method": "leman"}
        reply = Reply(dispatcher, lang)
        reply.say(
            "reply.checkout.leman_partial",
            leman=reply.chf(quote.leman_payable),
            total=reply.chf(quote.total),
            currency=app.settings.local_currency.name,
        )
        currency = app.settings.local_currency.name
        reply.button("button.pay_mixed", payload("choose_payment", payment_method="mixed"), currency=currency)
        reply.button("button.pay_chf", payload("choose_payment", payment_method="chf"))
        reply.send()
        return {"payment_method": None}


def _remember_leman_wanted(tracker: Tracker, amount: Decimal | None) -> None:
    app = marketplace()
    with app.db.uow() as uow:
        person = person_for_chat(uow, chat_address(tracker.sender_id), metadata_language(tracker))
        set_leman_wanted(uow, person, amount)
        uow.commit()


def basket_of(tracker: Tracker) -> tuple[BasketView, str]:
    """The sender's basket priced for the chosen delivery mode, and their language."""
    app = marketplace()
    with app.db.uow() as uow:
        person = person_for_chat(uow, chat_address(tracker.sender_id), metadata_language(tracker))
        lang = tracker.get_slot("language") or person.language
        mode = tracker.get_slot("delivery_mode") or "delivery"
        return view_basket(uow, app.settings, person, lang, mode), lang


class AskAction(MarketplaceAction):
    """Asks for one slot of the checkout form, with buttons."""


class ActionAskDeliveryMode(AskAction):
    action_name = "action_ask_delivery_mode"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        turn.reply.say("reply.checkout.ask_delivery")
        turn.reply.button("button.delivery", payload("choose_delivery", delivery_mode="delivery"))
        if turn.app.settings.delivery.pickup:
            turn.reply.button("button.pickup", payload("choose_delivery", delivery_mode="pickup"))
        return []


class ActionAskPostalCode(AskAction):
    action_name = "action_ask_postal_code"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        turn.reply.say("reply.checkout.ask_postal_code")
        return []


class ActionAskTimeSlot(AskAction):
    action_name = "action_ask_time_slot"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        slots = offered_slots(turn.uow, turn.tracker.get_slot("delivery_mode"), turn.tracker.get_slot("postal_code"))
        if not slots:  # every slot serving this postal code is full for the coming days
            turn.reply.say("reply.checkout.no_slot")
            turn.reply.button("button.pickup", payload("choose_delivery", delivery_mode="pickup"))
            return []
        turn.reply.say("reply.checkout.ask_time_slot")
        for slot in slots[:6]:
            turn.reply.buttons.append(
                {"title": turn.reply.slot(slot), "payload": payload("choose_delivery", time_slot=slot)}
            )
        return []


class ActionAskPaymentMethod(AskAction):
    action_name = "action_ask_payment_method"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        reply = turn.reply
        mode = turn.tracker.get_slot("delivery_mode") or "delivery"
        quote = view_basket(turn.uow, turn.app.settings, turn.person, turn.lang, mode).quote
        currency = turn.app.settings.local_currency.name
        reply.say(
            "reply.checkout.ask_payment",
            total=reply.chf(quote.total),
            leman=reply.chf(quote.leman_payable),
            currency=currency,
        )
        reply.button("button.pay_chf", payload("choose_payment", payment_method="chf"))
        reply.button("button.pay_leman", payload("choose_payment", payment_method="leman"), currency=currency)
        reply.button("button.pay_mixed", payload("choose_payment", payment_method="mixed"), currency=currency)
        reply.button("button.pay_on_delivery", payload("choose_payment", payment_method="on_delivery"))
        return []


class ActionAskOrderConfirmed(AskAction):
    action_name = "action_ask_order_confirmed"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        reply, slots = turn.reply, turn.tracker.get_slot
        mode = slots("delivery_mode") or "delivery"
        basket = view_basket(turn.uow, turn.app.settings, turn.person, turn.lang, mode)
        reply.say("reply.checkout.summary")
        basket_summary(reply, basket, turn.app.settings.local_currency.name)
        if mode == "delivery":
            reply.say(
                "reply.checkout.summary_delivery",
                postal_code=slots("postal_code"),
                slot=reply.slot(slots("time_slot")),
            )
        else:
            reply.say("reply.checkout.summary_pickup", slot=reply.slot(slots("time_slot")))
        method = slots("payment_method") or "chf"
        currency = turn.app.settings.local_currency.name
        reply.say("reply.checkout.summary_payment", method=reply.t(f"payment.{method}", currency=currency))
        if method in ("leman", "mixed"):
            shares = [VendorShare(i, g.goods_total, g.leman_payable) for i, g in enumerate(basket.groups)]
            chosen = leman_wanted(turn.uow, turn.person)
            legs = split(shares, basket.quote.delivery_fee, chosen if chosen is not None else wanted_for(method))
            leman = sum((leg.leman for leg in legs), Decimal(0))
            reply.say(
                "reply.checkout.summary_split",
                chf=reply.chf(basket.quote.total - leman),
                leman=format_decimal(leman, format="#,##0.00", locale=BABEL_LOCALES.get(turn.lang, "fr_CH")),
                currency=currency,
            )
        reply.button("button.confirm", "/affirm")
        reply.button("button.cancel", "/deny")
        return []


class ActionSubmitOrder(MarketplaceAction):
    action_name = "action_submit_order"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        slots = turn.tracker.get_slot
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if slots("order_confirmed") is None:  # the form ended at once: the basket is empty
            turn.reply.say("error.empty_basket")
            return reset
        if not slots("order_confirmed"):
            turn.reply.say("reply.checkout.cancelled")
            return reset
        choice = DeliveryChoice(
            mode=slots("delivery_mode"),
            postal_code=slots("postal_code") or "",
            time_slot=slots("time_slot") or "",
            payment_method=slots("payment_method") or "chf",
        )
        order = place_order(turn.uow, turn.app.settings, turn.person, choice)
        reply = turn.reply
        reply.say("reply.checkout.placed", number=order.number, total=reply.chf(order.total))
        reply.say("reply.checkout.next_steps")
        if turn.app.settings.payments is not None:
            send_payment_documents(turn, order)
        return reset

    def on_error(self, error: Exception) -> list[EventType]:
        return [SlotSet(slot, None) for slot in FORM_SLOTS]


def send_payment_documents(turn: Turn, order: Order) -> None:
    """After the order: the QR-bill for the francs (image and PDF), the e-Léman QR code for the Léman, or
    what to have ready for the courier. Files go to the data directory, which the bot process reads."""
    settings, reply = turn.app.settings, turn.reply
    folder = settings.data_dir / "payments"
    folder.mkdir(parents=True, exist_ok=True)
    legs = open_payment(turn.uow, settings, order)
    per_part = any(leg.vendor_order_id is not None for leg in legs)  # money_flow "vendor_order"
    vendors = {part.id: part.vendor.name for part in order.vendor_orders}
    for leg in legs:
        # With one leg per vendor order, each caption says whom it pays (the delivery fee has its own).
        whom = ""
        if per_part and leg.method != PaymentMethod.ON_DELIVERY:
            whom = (
                reply.t("reply.payment.part_for", vendor=vendors[leg.vendor_order_id]) + " "
                if leg.vendor_order_id is not None
                else reply.t("reply.payment.part_delivery") + " "
            )
        if leg.method == PaymentMethod.QR_BILL:
            bill = make_qr_bill(settings, order, leg, turn.lang)
            png, pdf = folder / f"{order.number}-{leg.id}-qr-bill.png", folder / f"{order.number}-{leg.id}-qr-bill.pdf"
            png.write_bytes(bill.png)
            pdf.write_bytes(bill.pdf)
            caption = reply.t("reply.payment.qr_bill", amount=reply.chf(leg.amount), reference=bill.reference)
            reply.attach("image", str(png), whom + caption)
            reply.attach("document", str(pdf), "")
        elif leg.method == PaymentMethod.LEMAN and settings.payments and settings.payments.leman:
            qr = folder / f"{order.number}-{leg.id}-leman.png"
            qr.write_bytes(qr_png(payment_request(settings, order, leg)))
            amount = format_decimal(leg.amount, format="#,##0.00", locale=BABEL_LOCALES.get(turn.lang, "fr_CH"))
            caption = reply.t("reply.payment.leman", amount=amount, currency=settings.local_currency.name)
            reply.attach("image", str(qr), whom + caption)
        elif leg.method == PaymentMethod.ON_DELIVERY:
            reply.say("reply.payment.on_delivery", amount=reply.chf(cash_due(order)[0]))


class ActionInterruptCheckout(MarketplaceAction):
    """A question in the middle of checkout: answer it, then the form asks its question again."""

    action_name = "action_interrupt_checkout"

    def handle(self, turn: Turn, domain: dict[str, Any]) -> list[EventType]:
        from dialogues.actions import HANDLERS

        handler = HANDLERS.get(turn.intent)
        events = handler.handle(turn, domain) if handler else []
        turn.reply.say("reply.checkout.resume")
        return events or []
