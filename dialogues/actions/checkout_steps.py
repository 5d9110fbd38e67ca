"""The checkout's steps around the form: ask for each slot with buttons, show the summary to confirm,
place the order and hand over its payment documents, answer a question asked in the middle.

Every rule (slots offered, payment options, the preview that is what the order charges, the payment
documents) is the checkout flow's, `checkout.flow`; these actions call it and render. The summary carries the
fingerprint of what it shows, and the order is placed only with that fingerprint back (`place_checkout`).
"""

from __future__ import annotations

from rasa_sdk.events import ActiveLoop, EventType, SlotSet

from checkout.address_book import list_addresses
from checkout.delivery import pickup_points
from checkout.flow import (
    CheckoutNotConfirmed,
    CheckoutPreview,
    offered_slots,
    payment_options,
    place_checkout,
    preview_checkout,
)
from dialogues.actions.addresses import AddressDraft, offer_to_name, one_line, say_address_question
from dialogues.actions.base import MarketplaceAction, Reply, Turn
from dialogues.actions.checkout_form import (
    RESET_SLOTS,
    SUMMARY_KEY,
    checkout_choice,
    checkout_now,
    chosen_address,
    chosen_checkout,
    chosen_pickup_point,
    cleared_by,
    display_name,
    local_amount,
    shown_summary,
)
from dialogues.actions.shopping import basket_summary, payload
from marketplace.errors import MarketplaceError
from payments.documents import PaymentDocument
from payments.models import LegMethod


class AskAction(MarketplaceAction):
    """Asks for one slot of the checkout form, with buttons."""

    def on_error(self, error: MarketplaceError) -> list[EventType]:
        # A choice no longer offered (the slot filled up or passed its cut-off since it was chosen): ask again.
        return [SlotSet(slot, None) for slot in cleared_by(error)]


class ActionAskDeliveryMode(AskAction):
    action_name = "action_ask_delivery_mode"

    def handle(self, turn: Turn) -> list[EventType]:
        turn.reply.say("reply.checkout.ask_delivery")
        turn.reply.button("button.delivery", payload("choose_delivery", delivery_mode="delivery"))
        if turn.app.settings.delivery.pickup:
            turn.reply.button("button.pickup", payload("choose_delivery", delivery_mode="pickup"))
        return []


class ActionAskDeliveryAddress(AskAction):
    """Where to deliver: the part of the address still missing, or the last address again, or the whole of it;
    a location can be shared instead (then the street is asked, to go with the coordinates)."""

    action_name = "action_ask_delivery_address"

    def handle(self, turn: Turn) -> list[EventType]:
        draft = AddressDraft.of(turn.tracker.get_slot("address_draft"))
        say_address_question(turn.reply, draft, list_addresses(turn.uow, turn.person))
        return []


class ActionAskRecipientName(AskAction):
    """Whom to hand the goods to: the person's own name with one tap, or any name typed."""

    action_name = "action_ask_recipient_name"

    def handle(self, turn: Turn) -> list[EventType]:
        name = display_name(turn.tracker, turn.person)
        if not name:
            turn.reply.say("reply.checkout.ask_recipient")
            return []
        turn.reply.say("reply.checkout.ask_recipient_default")
        turn.reply.buttons.append({"title": f"👤 {name}", "payload": payload("choose_delivery", recipient_name=name)})
        return []


class ActionAskDeliveryPhone(AskAction):
    """A phone for the courier, optional, with why it is asked; the person's own number can be shared."""

    action_name = "action_ask_delivery_phone"

    def handle(self, turn: Turn) -> list[EventType]:
        turn.reply.say("reply.checkout.ask_phone")
        turn.reply.button("button.skip_phone", "/deny")
        turn.reply.share = ["contact"]
        return []


class ActionAskPickupPoint(AskAction):
    """Where to collect the order: the pickup points by name, with their address and hours."""

    action_name = "action_ask_pickup_point"

    def handle(self, turn: Turn) -> list[EventType]:
        reply = turn.reply
        reply.say("reply.checkout.ask_pickup_point")
        for number, point in enumerate(pickup_points(turn.uow), start=1):
            hours = f" ({point.hours})" if point.hours else ""
            reply.line(f"{number}. {point.name}, {point.address}{hours}")
            reply.buttons.append(
                {"title": f"🏪 {point.name}{hours}", "payload": payload("choose_delivery", pickup_point=str(point.id))}
            )
        return []


class ActionAskTimeSlot(AskAction):
    action_name = "action_ask_time_slot"

    def handle(self, turn: Turn) -> list[EventType]:
        slots = turn.tracker.get_slot
        settings, now = turn.app.settings, checkout_now(turn.app)
        offered = offered_slots(turn.uow, settings, slots("delivery_mode"), slots("postal_code"), now)
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
        choice = checkout_choice(turn.tracker)
        options = payment_options(turn.uow, turn.app.settings, turn.person, choice, checkout_now(turn.app))
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
        tracker, now = turn.tracker, checkout_now(turn.app)
        preview = preview_checkout(
            turn.uow, settings, turn.person, turn.lang, chosen_checkout(tracker), now,
            chosen_address(tracker), chosen_pickup_point(tracker),
        )  # fmt: skip
        choice, currency = preview.choice, settings.local_currency.name
        reply.say("reply.checkout.summary")
        basket_summary(reply, preview.basket, currency)
        summarise_where(reply, preview)
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
        if preview.address is not None:
            reply.button("button.change_address", "/change_address")
        reply.button("button.cancel", "/deny")
        send_summary(reply, preview.fingerprint)
        return []


def summarise_where(reply: Reply, preview: CheckoutPreview) -> None:
    """Where and when, as the order will keep it: the address with its recipient, details and phone, or the
    pickup point."""
    choice, address, place = preview.choice, preview.address, preview.pickup_point
    slot = reply.slot(choice.time_slot)
    if address is not None:
        recipient = address.recipient_name
        key = "reply.checkout.summary_address" if recipient else "reply.checkout.summary_address_only"
        reply.say(key, address=one_line(address), recipient=recipient, slot=slot)
        if address.details:
            reply.say("reply.checkout.summary_details", details=address.details)
        if address.phone:
            reply.say("reply.checkout.summary_phone", phone=address.phone)
    elif choice.mode == "delivery":  # an order of the CLI's, or placed before addresses: its postal code
        reply.say("reply.checkout.summary_delivery", postal_code=choice.postal_code, slot=slot)
    elif place is not None:
        hours = f" ({place.hours})" if place.hours else ""
        reply.say("reply.checkout.summary_pickup_point", name=place.name, address=place.address + hours, slot=slot)
    else:
        reply.say("reply.checkout.summary_pickup", slot=slot)


def send_summary(reply: Reply, fingerprint: str) -> None:
    """Send the summary now, marked with the fingerprint of what it shows: Rasa keeps the mark with the
    message in the conversation (no channel shows it), and a « yes » confirms what that summary showed."""
    reply.dispatcher.utter_message(text="\n".join(reply.lines), buttons=reply.buttons, **{SUMMARY_KEY: fingerprint})
    reply.lines, reply.buttons = [], []


class ActionSubmitOrder(MarketplaceAction):
    action_name = "action_submit_order"

    def handle(self, turn: Turn) -> list[EventType]:
        slots = turn.tracker.get_slot
        reset = [SlotSet(slot, None) for slot in RESET_SLOTS]
        if slots("order_confirmed") is None:  # the form ended at once: the basket is empty
            turn.reply.say("error.empty_basket")
            return reset
        if not slots("order_confirmed"):
            turn.reply.say("reply.checkout.cancelled")
            return reset
        address = chosen_address(turn.tracker)
        known = {saved.id for saved in list_addresses(turn.uow, turn.person)} if address is not None else set()
        placed = place_checkout(
            turn.uow,
            turn.app.settings,
            turn.person,
            turn.lang,
            chosen_checkout(turn.tracker),
            checkout_now(turn.app),
            confirmed=shown_summary(turn.tracker),
            address=address,
            pickup_point=chosen_pickup_point(turn.tracker),
        )
        reply = turn.reply
        reply.say("reply.checkout.placed", number=placed.number, total=reply.chf(placed.total))
        reply.say("reply.checkout.next_steps")
        for document in placed.documents:
            render_payment_document(reply, document, turn.app.settings.local_currency.name)
        if address is not None:  # a new address: « Domicile », « Travail » or no name? (after what to pay)
            offer_to_name(turn, known)
        return reset

    def on_error(self, error: MarketplaceError) -> list[EventType]:
        cleared = cleared_by(error)
        if cleared or isinstance(error, CheckoutNotConfirmed):
            # A choice no longer offered, or a summary not confirmed as it is now: nothing is placed, the other
            # choices stand and the form comes back to ask again what must be, then shows the summary.
            unset = {"order_confirmed": None} | cleared
            return [SlotSet(slot, None) for slot in unset] + [ActiveLoop("checkout_form")]
        return [SlotSet(slot, None) for slot in RESET_SLOTS]  # the basket itself must change: start again


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
