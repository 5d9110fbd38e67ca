"""The checkout's steps around the form: ask for each slot with buttons, show the summary to confirm,
place the order and hand over its payment documents, answer a question asked in the middle.

Every rule (slots offered, payment options, the preview that is what the order charges, the payment
documents) is the checkout flow's, `checkout.flow`; these actions call it and render.
"""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet

from checkout.flow import offered_slots, payment_options, place_checkout, preview_checkout
from dialogues.actions.base import MarketplaceAction, Reply, Turn
from dialogues.actions.checkout_form import FORM_SLOTS, checkout_choice, local_amount
from dialogues.actions.shopping import basket_summary, payload
from marketplace.errors import MarketplaceError, SlotFull
from payments.documents import PaymentDocument
from payments.models import LegMethod


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
