"""The checkout form's validator: fills delivery or pickup, the delivery address (and so its postal code), the
recipient and an optional phone, or the pickup point, then time slot, payment and confirmation from buttons,
entities, shared locations and contacts, or free text. The steps around it (questions, summary, the order) are in
`checkout_steps.py`; the rules (which slots to offer, how the basket can be paid) are `checkout.flow`'s.

A button's payload is text anyone can type (`/choose_delivery{"time_slot": "..."}`, or `/ choose_delivery{...}`
with a space: Rasa's RegexMessageHandler strips the intent name and unpacks both the same way), so a value
from an entity is checked against what is offered exactly like a typed one: a slot among the offered slots,
a served postal code, a mode and a payment method the basket allows. A refused value gets an answer and its
question again. The confirmation counts only as the answer to the summary just shown, carrying no other choice.

An address is read from what the person types (`checkout.addresses.read_address`) whatever intent NLU gave the
message, as long as it reads as one: an address is no sentence NLU can learn. « Changer l'adresse » works at
any point of a home delivery's form, like the questions that interrupt it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from babel.numbers import format_decimal
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bootstrap import App
from catalog.text import fold
from checkout.address_book import (
    AddressNotFound,
    DeliveryAddress,
    InvalidAddress,
    SavedAddress,
    checked_phone,
    checked_recipient,
    get_address,
    last_address,
    list_addresses,
)
from checkout.addresses import check_zone, read_address, served_zones
from checkout.delivery import DeliveryModeNotOffered, PickupPoint, SlotNotOffered, pickup_points
from checkout.flow import (
    PaymentNotOffered,
    PickupPointNotOffered,
    check_time_slot,
    choose_payment,
    confirm_checkout,
    offered_slots,
    payment_options,
)
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, check_delivery, check_delivery_mode, local_now, view_basket
from dialogues.actions.addresses import (
    LABEL_WORDS,
    AddressDraft,
    address_slot,
    label_meant,
    label_words,
    one_line,
    recipient_in,
    refusal_of,
    saved_named,
    say_not_served,
    slot_address,
)
from dialogues.actions.base import (
    MarketplaceFormValidation,
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
    parse_change_address,
    parse_choice,
    parse_coordinate,
    parse_delivery_mode,
    parse_house_number,
    parse_payment_method,
    parse_person_name,
    parse_skip,
    parse_time_slot,
    without_delivery_words,
)
from dialogues.actions.shopping import payload
from marketplace.accounts import Person, person_for_chat
from marketplace.db import UnitOfWork
from marketplace.errors import DeliveryNotAvailable, MarketplaceError, SlotFull
from marketplace.i18n import BABEL_LOCALES, error_message, resolve_language, translate

# The form's slots as dialogues/domain.yml lists them; a home delivery asks the address, recipient and phone,
# a pickup the pickup point (when there are any), then both the time slot, payment and confirmation.
FORM_SLOTS = (
    "delivery_mode", "delivery_address", "recipient_name", "delivery_phone", "pickup_point",
    "time_slot", "payment_method", "order_confirmed",
)  # fmt: skip
HOME_ONLY = ("delivery_address", "recipient_name", "delivery_phone")
# What a checkout sets beside the form's slots, emptied with them once the order is placed or given up.
RESET_SLOTS = (*FORM_SLOTS, "postal_code", "address_draft")
# Entities that carry a choice in payloads (a button's or anyone's); with one of them, « oui » confirms nothing.
CHOICES = (
    "delivery_mode", "postal_code", "time_slot", "payment_method", "address_id", "recipient_name", "pickup_point",
    "latitude", "longitude", "phone",
)  # fmt: skip
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
    if isinstance(error, DeliveryNotAvailable):  # a postal code not served: the address is asked again
        return {"postal_code": None, "delivery_address": None}
    if isinstance(error, InvalidAddress):
        field = {"phone": "delivery_phone", "recipient_name": "recipient_name"}.get(str(error.params.get("field")))
        return {field or "delivery_address": None}
    if isinstance(error, PickupPointNotOffered):
        return {"pickup_point": None}
    return {}


def _after_change(tracker: Tracker, found: dict[str, Any]) -> dict[str, Any]:
    """Another delivery mode or postal code offers other slots and fees: the slot and payment are asked again."""
    changed = any(
        name in found and tracker.get_slot(name) not in (None, found[name]) for name in ("delivery_mode", "postal_code")
    )
    return found | {"time_slot": None, "payment_method": None} if changed else found


def checkout_choice(tracker: Tracker) -> DeliveryChoice:
    """The customer's choices so far, from the form's slots (as text, whatever set them: the core checks them).
    A home delivery goes to the postal code of its address, once there is one."""
    slots = tracker.get_slot
    address = slots("delivery_address")
    postal_code = address.get("postal_code") if isinstance(address, dict) else None
    return DeliveryChoice(
        mode=str(slots("delivery_mode") or "delivery"),
        postal_code=str(postal_code or slots("postal_code") or ""),
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


def chosen_address(tracker: Tracker) -> DeliveryAddress | None:
    """Where a home delivery goes, with its recipient and phone, from the form's slots; None for pickup."""
    slots = tracker.get_slot
    if slots("delivery_mode") != "delivery":
        return None
    return slot_address(slots("delivery_address"), slots("recipient_name"), slots("delivery_phone"))


def chosen_pickup_point(tracker: Tracker) -> int | None:
    """The pickup point chosen (its id), for pickup only."""
    value = str(tracker.get_slot("pickup_point") or "")
    return int(value) if tracker.get_slot("delivery_mode") == "pickup" and value.isdigit() else None


def display_name(tracker: Tracker, person: Person) -> str:
    """The name the person is known by: the account's, else the one their chat platform sent."""
    metadata = tracker.latest_message.get("metadata")
    sent = metadata.get("display_name") if isinstance(metadata, dict) else None
    return " ".join((person.display_name or (sent if isinstance(sent, str) else "")).split())[:80]


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


# What `extract_delivery_address` hands `validate_delivery_address` (an address already kept has none of these).
CANDIDATES = {"read", "saved", "location", "change", "declined", "unknown"}
# Messages that answer the form's question; anything else (a search, a question) interrupts it.
ANSWERS = {"choose_delivery", "choose_payment", "affirm", "deny", "checkout", "nlu_fallback", "out_of_scope"}


def reads_as_address(text: str, intent: str, draft: AddressDraft | None) -> bool:
    """Whether a message answering « à quelle adresse ? » is (part of) an address rather than a question that
    interrupts the form: anything with a postal code or a P.O. box, a street with its number or alone when
    NLU took the message for an answer, a house number when that is what was asked; and when NLU took it for
    a search (« Rue du Marché 3 »), a street that reads as one on its own (« Rue », « -strasse », « Via »…)."""
    if draft is not None and draft.street and not draft.number and parse_house_number(text):
        return True
    reading = read_address(text)
    if reading.postal_code or reading.po_box:
        return True
    if not reading.street:
        return False
    return intent in ANSWERS or bool(read_address(reading.street).street)


class ValidateCheckoutForm(MarketplaceFormValidation):
    """Fills the form's slots from buttons, entities or free text, and checks them against the deployment."""

    def name(self) -> str:
        return "validate_checkout_form"

    async def required_slots(
        self, domain_slots: list[str], _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict[str, Any]
    ) -> list[str]:
        def facts(app: App, uow: UnitOfWork, person: Person, lang: str) -> tuple[bool, bool]:
            return view_basket(uow, app.settings, person, lang).is_empty, bool(pickup_points(uow))

        empty, points = await asyncio.to_thread(in_core, tracker, facts)
        if empty:  # nothing to check out: the form ends at once; action_submit_order says why
            return []
        if tracker.get_slot("delivery_mode") == "pickup":
            return [s for s in domain_slots if s not in HOME_ONLY and (points or s != "pickup_point")]
        return [s for s in domain_slots if s != "pickup_point"]

    def _answering(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot and (
            latest_intent(tracker) in ANSWERS or bool(latest_entity(tracker, slot))
        )

    async def extract_delivery_mode(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        typed = _typed(tracker)
        mode = latest_entity(tracker, "delivery_mode") or parse_delivery_mode(typed)
        if latest_intent(tracker) == "share_location" and tracker.get_slot("delivery_mode") is None:
            mode = "delivery"  # a location shared before choosing: it is for home delivery
        asked_address = tracker.get_slot("requested_slot") == "delivery_address"
        pickup_instead = asked_address and mode == "pickup" and not read_address(typed).postal_code
        if not mode or not (
            self._answering(tracker, "delivery_mode")
            or latest_entity(tracker, "delivery_mode")
            or pickup_instead
            or latest_intent(tracker) == "share_location"
        ):
            return {}
        return _after_change(tracker, {"delivery_mode": mode})

    # --- the address, its recipient and phone ----------------------------------------------------------

    async def extract_delivery_address(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        """What the message says of the address, for `validate_delivery_address` to check: {"read": text},
        {"saved": id or "last"}, {"location": [lat, lon]}, {"change": true} or {"declined": true}."""
        if tracker.get_slot("delivery_mode") == "pickup":
            return {}
        intent, typed, requested = latest_intent(tracker), _typed(tracker), tracker.get_slot("requested_slot")
        if intent == "share_location":
            where = [latest_entity(tracker, "latitude"), latest_entity(tracker, "longitude")]
            return {"delivery_address": {"location": where}}
        pressed = latest_entity(tracker, "address_id")
        if pressed is not None:
            return {"delivery_address": {"saved": pressed}}
        if intent == "change_address" or parse_change_address(typed):
            return {"delivery_address": {"change": True}}
        draft = AddressDraft.of(tracker.get_slot("address_draft"))
        if requested in ("delivery_mode", "delivery_address") and (draft is None or not draft.started):
            # « livre au travail », « à la maison »; at the mode's question « livraison à domicile », "home
            # delivery", « Lieferung nach Hause » name the mode, not the address called home
            named = await self._named(tracker, typed, asked=requested == "delivery_address")
            if named:
                return {"delivery_address": named}
        if requested == "delivery_mode" and tracker.get_slot("delivery_mode") == "delivery":
            # « Livraison Rue de Carouge 50, 1205 Genève »: the mode and the address in one message.
            rest = without_delivery_words(typed)
            return {"delivery_address": {"read": rest}} if rest and reads_as_address(rest, intent, None) else {}
        if requested != "delivery_address":
            return {}
        if draft is None and intent == "affirm":  # « oui » to « comme la dernière fois ? »
            return {"delivery_address": {"saved": "last"}}
        if draft is None and intent == "deny":
            return {"delivery_address": {"declined": True}}
        if typed and (intent in ANSWERS or reads_as_address(typed, intent, draft)):
            return {"delivery_address": {"read": typed}}
        return {}

    @staticmethod
    async def _named(tracker: Tracker, typed: str, *, asked: bool) -> dict[str, str] | None:
        """A message that is only the name of an address: {"saved": id} for one of the person's own, {"unknown":
        "work"} for « au travail » when none is called so; None for anything else (an address, a question).
        Unless the address was `asked`, the words for home and an address name nobody gave count for nothing."""
        if not typed or not label_words(typed) or len(typed.split()) > 6:
            return None

        def find(_app: App, uow: UnitOfWork, person: Person, _lang: str) -> dict[str, str] | None:
            meant = label_meant(typed)
            if not asked and meant == "home":
                return None
            saved = saved_named(typed, list_addresses(uow, person))
            if saved is not None:
                return {"saved": str(saved.id)}
            return {"unknown": meant} if meant and asked else None

        return await asyncio.to_thread(in_core, tracker, find)

    async def validate_delivery_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        if not isinstance(value, dict) or not CANDIDATES & value.keys():  # emptied, or an address already kept
            return {"delivery_address": value if slot_address(value) else None}

        def check(app: App, uow: UnitOfWork, person: Person, lang: str) -> dict:
            reply = Reply(dispatcher, lang)
            try:
                found = self._address(app, uow, person, reply, tracker, value)
            except MarketplaceError as error:  # a street too long, a control character...: asked again
                reply.lines, reply.buttons = [error_message(error, lang)], []
                found = {"delivery_address": None, "address_draft": None}
            reply.send()
            return found

        return await asyncio.to_thread(in_core, tracker, check)

    def _address(
        self, app: App, uow: UnitOfWork, person: Person, reply: Reply, tracker: Tracker, candidate: dict
    ) -> dict:
        draft = AddressDraft.of(tracker.get_slot("address_draft"))
        unset: dict[str, Any] = {"delivery_address": None, "order_confirmed": None}
        if candidate.get("change") or candidate.get("declined"):
            return unset | {"address_draft": AddressDraft(declined=True).slot()}
        if "location" in candidate:
            where = [*candidate["location"], None, None] if isinstance(candidate["location"], list) else [None] * 2
            lat, lon = parse_coordinate(where[0], 90), parse_coordinate(where[1], 180)
            if lat is None or lon is None:
                reply.say("reply.checkout.location_unreadable")
                return unset
            located = dataclasses.replace(draft or AddressDraft(), latitude=str(lat), longitude=str(lon))
            return unset | {"address_draft": dataclasses.replace(located, declined=False).slot()}
        if "unknown" in candidate:  # « au travail » with no address called so: the whole address is asked
            label = str(candidate["unknown"]) if candidate["unknown"] in LABEL_WORDS else ""
            reply.say("reply.checkout.no_address_named", label=reply.t(f"address.label.{label}") if label else "")
            return unset | {"address_draft": AddressDraft(declined=True).slot()}
        if "saved" in candidate:
            return self._saved(app, uow, person, reply, tracker, str(candidate["saved"]))
        return self._read(app, uow, reply, tracker, draft, str(candidate.get("read") or ""))

    def _saved(self, app: App, uow: UnitOfWork, person: Person, reply: Reply, tracker: Tracker, wanted: str) -> dict:
        """A saved address of the person's own, checked against the zones served now."""
        try:
            if wanted == "last":  # « oui »: to « comme la dernière fois ? », if that was asked
                saved: SavedAddress | None = last_address(uow, person)
                if saved is None:
                    reply.say("reply.checkout.address_unread")
                    return {"delivery_address": None}
            else:
                saved = get_address(uow, person, int(wanted) if wanted.isdigit() else -1)
        except AddressNotFound as error:
            reply.line(error_message(error, reply.lang))
            return {"delivery_address": None, "address_draft": AddressDraft(declined=True).slot()}
        address = saved.address()
        refused = self._not_served(app, uow, reply, address.postal_code, one_line(address))
        if refused is not None:
            return refused
        found = self._complete(reply, tracker, address)
        if address.recipient_name:
            found["recipient_name"] = address.recipient_name
        return found | {"delivery_phone": address.phone}  # none kept last time: not asked again

    def _read(
        self, app: App, uow: UnitOfWork, reply: Reply, tracker: Tracker, draft: AddressDraft | None, text: str
    ) -> dict:
        """One more message of the address: refused, completed, or the draft with what it added."""
        reading = read_address(text, reply.lang)
        refusal = refusal_of(reading)
        if refusal is not None:
            reply.say(refusal, postal_code=reading.postal_code)
            kept = dataclasses.replace(draft, postal_code="", locality="") if draft and not reading.po_box else None
            return {"delivery_address": None, "address_draft": kept.slot() if kept else None}
        before = draft or AddressDraft()
        asked_number = bool(before.street and not before.number)
        merged = before.merged(reading, parse_house_number(text) if asked_number else None)
        extras: dict[str, Any] = {}
        if name := recipient_in(reading):
            extras["recipient_name"] = name
        if reading.phone:
            with contextlib.suppress(InvalidAddress):  # else asked on its own later, with the reason
                extras["delivery_phone"] = checked_phone(reading.phone)
        if merged == before and not extras:
            reply.say("reply.checkout.address_unread")
            return {"delivery_address": None}
        if merged.postal_code:
            place = " ".join(part for part in (merged.postal_code, merged.locality) if part)
            refused = self._not_served(app, uow, reply, merged.postal_code, place)
            if refused is not None:
                return refused
        if merged.missing:
            return {"delivery_address": None, "address_draft": merged.slot()} | extras
        return self._complete(reply, tracker, merged.address()) | extras

    @staticmethod
    def _not_served(app: App, uow: UnitOfWork, reply: Reply, postal_code: str, place: str) -> dict | None:
        """The refusal (with the zones served, and pickup) when home delivery does not reach the postal code."""
        zones = served_zones(uow, app.settings)
        zone = check_zone(postal_code, zones)
        if zone.served:
            return None
        say_not_served(reply, zone, zones, place, app.settings.delivery.pickup)
        return {"delivery_address": None, "address_draft": None, "postal_code": None}

    @staticmethod
    def _complete(reply: Reply, tracker: Tracker, address: DeliveryAddress) -> dict:
        """The address, complete and served: its postal code chooses the slots and the fee, so another one asks
        for the slot and the payment again; any change asks for the confirmation again."""
        slot = address_slot(address)  # the recipient and phone have slots of their own
        checked = slot_address(slot)
        if checked is None:
            raise InvalidAddress(field="street")
        reply.say("reply.checkout.address_noted", address=one_line(checked))
        found = {"delivery_address": slot, "address_draft": None, "order_confirmed": None}
        found |= _after_change(tracker, {"postal_code": checked.postal_code})
        return found

    async def extract_recipient_name(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        if tracker.get_slot("requested_slot") != "recipient_name":
            return {}
        pressed = latest_entity(tracker, "recipient_name")
        if pressed is not None:
            return {"recipient_name": pressed}
        intent, typed = latest_intent(tracker), _typed(tracker)
        if intent == "affirm":  # the button with the person's own name, or « oui »
            name = await asyncio.to_thread(in_core, tracker, lambda _a, _u, person, _l: display_name(tracker, person))
            return {"recipient_name": name} if name else {}
        name = parse_person_name(typed)
        # A name as typed; a short phrase NLU took for a search or a question is one, unless it looks like a name.
        if name and (intent in ANSWERS or all(word[0].isupper() for word in name.split())):
            return {"recipient_name": name}
        return {}

    async def validate_recipient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        if value is None:
            return {"recipient_name": None}
        try:
            return {"recipient_name": checked_recipient(str(value)), "order_confirmed": None}
        except InvalidAddress:
            lang = resolve_language(marketplace().settings.languages, tracker.get_slot("language"),
                                    metadata_language(tracker))  # fmt: skip
            dispatcher.utter_message(text=translate("reply.checkout.recipient_invalid", lang))
            return {"recipient_name": None}

    async def extract_delivery_phone(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        intent, typed = latest_intent(tracker), _typed(tracker)
        if intent == "share_contact":  # the person's own number, shared from their chat app: at any point
            shared = latest_entity(tracker, "phone")
            return {"delivery_phone": shared} if shared else {}
        if tracker.get_slot("requested_slot") != "delivery_phone":
            return {}
        phone = read_address(typed).phone
        if phone:
            return {"delivery_phone": phone}
        if intent == "deny" or parse_skip(typed):
            return {"delivery_phone": ""}
        if any(c.isdigit() for c in typed):  # a number that is none: `validate_delivery_phone` says so
            return {"delivery_phone": typed}
        return {}

    async def validate_delivery_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        if value is None:
            return {"delivery_phone": None}
        try:
            return {"delivery_phone": checked_phone(str(value)), "order_confirmed": None}
        except InvalidAddress:
            lang = resolve_language(marketplace().settings.languages, tracker.get_slot("language"),
                                    metadata_language(tracker))  # fmt: skip
            dispatcher.utter_message(text=translate("reply.checkout.phone_invalid", lang))
            return {"delivery_phone": None}

    # --- pickup -----------------------------------------------------------------------------------------

    async def extract_pickup_point(self, _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        if tracker.get_slot("requested_slot") != "pickup_point":
            return {}
        pressed = latest_entity(tracker, "pickup_point")
        if pressed is not None:
            return {"pickup_point": pressed}
        typed = _typed(tracker)
        if not typed:
            return {}

        def named(_app: App, uow: UnitOfWork, _person: Person, _lang: str) -> str | None:
            point = pickup_point_named(pickup_points(uow), typed)
            return str(point.id) if point else None

        found = await asyncio.to_thread(in_core, tracker, named)
        return {"pickup_point": found} if found else {}

    async def validate_pickup_point(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        if value is None:
            return {"pickup_point": None}

        def check(_app: App, uow: UnitOfWork, _person: Person, lang: str) -> dict:
            wanted = str(value)
            if wanted.isdigit() and uow.session.get(PickupPoint, int(wanted)) is not None:
                return {"pickup_point": wanted, "order_confirmed": None}
            dispatcher.utter_message(text=error_message(PickupPointNotOffered(), lang))
            return {"pickup_point": None}

        return await asyncio.to_thread(in_core, tracker, check)

    # --- when, how to pay, confirmation -----------------------------------------------------------------

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
        if method is None and typed:  # a typed method NLU tagged without normalising it (« à la livraison »)
            method = parse_payment_method(typed)
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
                confirm_checkout(
                    uow, app.settings, person, lang, chosen_checkout(tracker), shown, checkout_now(app),
                    chosen_address(tracker), chosen_pickup_point(tracker),
                )  # fmt: skip
            except MarketplaceError as error:
                dispatcher.utter_message(text=error_message(error, lang))
                return {"order_confirmed": None} | cleared_by(error)
            return {"order_confirmed": True}

        return await asyncio.to_thread(in_core, tracker, check)


def pickup_point_named(points: list[PickupPoint], text: str) -> PickupPoint | None:
    """The pickup point a message names: by its place in the list (« le 2 ») or by (part of) its name."""
    position = parse_choice(text)
    if position is not None:
        return points[position - 1] if 1 <= position <= len(points) else None
    folded = fold(text)
    named = [point for point in points if fold(point.name) in folded or folded.strip() in fold(point.name)]
    return named[0] if len(named) == 1 else None
