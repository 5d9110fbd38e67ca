"""Delivery addresses in the chat: the checkout form's address (read from one message, completed question by
question, a shared location, or a saved one), and the person's saved addresses, listed and deleted by chat.

The reading is `checkout.addresses.read_address`'s, the zones `served_zones`', the saved addresses
`checkout.address_book`'s (each person's own): this module only puts them into slots and sentences.

Slots (dialogues/domain.yml): `delivery_address` holds the address once complete (street with its number,
postal code, locality, details, coordinates), `address_draft` what is known of it while parts are still
asked; `recipient_name` and `delivery_phone` ("" when the person gave none) are asked after it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk.events import EventType

from catalog.text import fold
from checkout import postcodes
from checkout.address_book import (
    LIMITS,
    DeliveryAddress,
    InvalidAddress,
    SavedAddress,
    checked_address,
    delete_address,
    get_address,
    last_address,
    list_addresses,
    name_address,
)
from checkout.addresses import AddressProblem, AddressReading, ZoneCheck
from dialogues.actions.base import MarketplaceAction, Reply, Turn, latest_entity
from dialogues.actions.parsing import parse_person_name, parse_position
from dialogues.actions.shopping import payload
from marketplace.settings import PostalZone


def wordset(words: str) -> frozenset[str]:
    """The words of a text block, as a set (folded words: see LABEL_FILLERS)."""
    return frozenset(words.split())


# The two names every person may use, as people say them in four languages (folded: lower case, no accents),
# once the words around them are dropped (LABEL_FILLERS): « à la maison », "at home", « zu Hause », « al lavoro ».
LABEL_WORDS = {
    "home": frozenset({
        "home", "maison", "domicile", "moi", "hause", "zuhause", "daheim", "heim", "wohnung", "heimadresse",
        "privatadresse", "casa",
    }),
    "work": frozenset({
        "work", "travail", "boulot", "bureau", "job", "office", "arbeit", "buro", "buero", "arbeitsadresse",
        "geschaftsadresse", "lavoro", "ufficio",
    }),
}  # fmt: skip
# Words around a name in « livre au travail », « supprime l'adresse du travail », "call this address home"…
LABEL_FILLERS = wordset("""
    livre livrez livrer livraison au aux a la le les l de du des d mon ma mes chez adresse adresses cette cet ce
    c est sur pour comme nom svp stp merci oui s il te vous plait appelle appelez nomme nommer renomme enregistre
    enregistrer garde memorise sauvegarde donne supprime supprimer efface effacer enleve oublie numero
    deliver delivery to at the my address addresses please yes it is this that as call name rename save keep
    store label mark delete remove forget number
    liefern liefere liefert lieferung bitte zur zum zu nach an ins in im die der das dem den meine mein meiner
    meinem adresse ja bei diese dieser dies ist als nenne benenne speichere speichern merk dir gib namen loesche
    losche loschen entferne vergiss nummer um
    consegna consegnare consegnate consegnami al alla allo all a il lo i mio mia miei indirizzo indirizzi per
    favore si questo questa e da chiama rinomina salva memorizza registra dai nome cancella elimina dimentica
    rimuovi numero
    non no nein plutot instead rather lieber stattdessen invece piuttosto
""")
# What introduces a name the person gives: « comme travail », « sous le nom chalet », "as office", « als Büro »,
# « s'appelle chez maman », « come ufficio »; the name is what follows the last of them.
NAME_MARKER = re.compile(
    r"\b(?:sous le nom(?: de)?|le nom|comme|en tant que|en|s['’]appelle|c['’]est|as|to|under the name|the name|is"
    r"|als|unter dem namen|den namen|hei(?:ss|ß)t|ist|come|con il nome|il nome|si chiama|è|in)\s+",
    re.IGNORECASE,
)
# Words left out of the start and end of a name given (« comme le bureau », « in Ferienhaus um »).
LEADING = wordset("le la les l un une mon ma mes my the a an den die der das dem mein meine il lo i mio mia")
TRAILING = wordset("um please svp stp bitte merci grazie")
# Verbs that delete, whatever intent NLU gave the sentence (« supprime l'adresse chez maman » is no naming).
DELETE_WORDS = wordset("""
    supprime supprimer supprimez efface effacer effacez enleve oublie delete remove forget erase losche loschen
    loeschen entferne vergiss cancella elimina dimentica rimuovi
""")
NO_NAME = "-"  # the address_label of the « Pas de nom » button
ZONE_LOCALITIES = 6  # localities named when an address is refused: the zones' first ones, by postal code
LIST_LIMIT = 10  # every saved address fits (address_book.MAX_ADDRESSES)


@dataclass(frozen=True)
class AddressDraft:
    """What the person has told of the address so far (the `address_draft` slot), all as typed."""

    street: str = ""
    number: str = ""
    postal_code: str = ""
    locality: str = ""
    details: str = ""
    latitude: str = ""  # a shared location, kept with the address the person then types
    longitude: str = ""
    declined: bool = False  # the saved address offered was declined, or a change was asked: ask for another

    @classmethod
    def of(cls, value: Any) -> AddressDraft | None:
        """The draft a slot holds; None for no draft (or anything that is not one)."""
        if not isinstance(value, dict):
            return None
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in value.items() if k in names and v is not None}
        return cls(**{k: bool(v) if k == "declined" else str(v)[:200] for k, v in known.items()})

    def slot(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def started(self) -> bool:
        return bool(self.street or self.number or self.postal_code)

    @property
    def missing(self) -> str | None:
        """The part to ask for next: "street", "number" or "postal_code"; None when complete."""
        if not self.street:
            return "street"
        if not self.number:
            return "number"
        return None if self.postal_code else "postal_code"

    def merged(self, reading: AddressReading, number: str | None = None) -> AddressDraft:
        """The draft with what one more message said: a street comes with its number, a postal code with its
        locality (the list's name), details add up. `number`: the message was only the house number asked."""
        found: dict[str, Any] = {}
        if number:
            found["number"] = number
        elif reading.street:
            found |= {"street": reading.street, "number": reading.number}
        if reading.postal_code:
            locality = reading.locality or next(iter(reading.localities), "")
            found |= {"postal_code": reading.postal_code, "locality": locality}
        if reading.details and reading.details not in self.details:
            found["details"] = ", ".join(part for part in (self.details, reading.details) if part)
        return dataclasses.replace(self, declined=False, **found) if found else self

    def address(self) -> DeliveryAddress:
        """The complete draft as an address (the street with its number, as the courier reads it)."""
        return DeliveryAddress(
            street=f"{self.street} {self.number}",
            postal_code=self.postal_code,
            locality=self.locality,
            details=self.details,
            latitude=_decimal(self.latitude),
            longitude=_decimal(self.longitude),
        )


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def address_slot(address: DeliveryAddress) -> dict[str, Any]:
    """The `delivery_address` slot for an address (recipient and phone have slots of their own)."""
    return {
        "street": address.street,
        "postal_code": address.postal_code,
        "locality": address.locality,
        "details": address.details,
        "latitude": str(address.latitude) if address.latitude is not None else None,
        "longitude": str(address.longitude) if address.longitude is not None else None,
    }


def slot_address(value: Any, recipient: Any = "", phone: Any = "") -> DeliveryAddress | None:
    """The address of the `delivery_address` slot with the recipient and phone slots, checked as the order will
    keep it; None when there is none (or the slot holds anything else)."""
    if not isinstance(value, dict):
        return None
    text = {k: str(value.get(k) or "") for k in ("street", "postal_code", "locality", "details")}
    try:
        return checked_address(
            DeliveryAddress(
                **text,
                recipient_name=str(recipient or ""),
                phone=str(phone or ""),
                latitude=_decimal(str(value.get("latitude") or "")),
                longitude=_decimal(str(value.get("longitude") or "")),
            )
        )
    except InvalidAddress:
        return None


def one_line(address: DeliveryAddress | SavedAddress) -> str:
    """ "Rue de Carouge 50, 1205 Genève"."""
    place = " ".join(part for part in (address.postal_code, address.locality) if part)
    return ", ".join(part for part in (address.street, place) if part)


def recipient_in(reading: AddressReading) -> str | None:
    """A recipient named in the address message: « c/o Dupont », or a line that is a name (« Marie Dupont »)."""
    if reading.care_of:
        return reading.care_of
    names = [name for part in reading.extra if (name := parse_person_name(part)) and len(name.split()) >= 2]
    return names[0] if len(names) == 1 else None


def refusal_of(reading: AddressReading) -> str | None:
    """The message key refusing a reading for home delivery whatever else is added to it, or None."""
    if reading.po_box:
        return "reply.checkout.po_box"
    if AddressProblem.NOT_SWISS in reading.problems:
        return "reply.checkout.postal_code_not_swiss"
    if AddressProblem.NO_HOMES in reading.problems:
        return "reply.checkout.postal_code_without_homes"
    return None


def zone_localities(zones: tuple[PostalZone, ...], limit: int = ZONE_LOCALITIES) -> list[str]:
    """The first localities of the zones, by postal code (« Genève, Les Acacias, Carouge GE… »)."""
    names: list[str] = []
    for locality in sorted(postcodes.all_localities(), key=lambda loc: loc.postal_code):
        if len(names) >= limit:
            break
        if locality.homes and locality.name not in names and any(int(locality.postal_code) in z for z in zones):
            names.append(locality.name)
    return names


def say_not_served(reply: Reply, zone: ZoneCheck, zones: tuple[PostalZone, ...], place: str, pickup: bool) -> None:
    """Home delivery does not reach `place`: where it does, and pickup when the deployment offers it."""
    reply.say(
        "reply.checkout.address_not_served",
        place=place,
        zones=", ".join(zone.zones),
        localities=", ".join(zone_localities(zones)),
    )
    if pickup:
        reply.say("reply.checkout.pickup_possible")
        reply.button("button.pickup", payload("choose_delivery", delivery_mode="pickup"))


def say_address_question(reply: Reply, draft: AddressDraft | None, saved: list[SavedAddress]) -> None:
    """The one question the address needs now: the part missing, the street after a shared location, the
    last address again (« comme la dernière fois ? »), or the whole address, with the saved ones as buttons."""
    reply.share = ["location"]
    if draft is not None and draft.started:
        missing = draft.missing
        place = " ".join(part for part in (draft.postal_code, draft.locality) if part)
        if missing == "street":
            reply.say("reply.checkout.ask_street", place=place)
        elif missing == "number":
            reply.say("reply.checkout.ask_number", street=draft.street)
        else:
            reply.say("reply.checkout.ask_address_postal_code", street=f"{draft.street} {draft.number}")
        return
    if draft is not None and draft.latitude:
        reply.say("reply.checkout.location_received")
        return
    if saved and draft is None:
        reply.say("reply.checkout.last_address", address=saved[0].street)
        reply.button("button.same_address", payload("choose_delivery", address_id=str(saved[0].id)))
        reply.button("button.other_address", "/deny")
        return
    reply.say("reply.checkout.ask_address")
    names = [label_of(reply, address) for address in saved if address.label]
    if names:  # « à la maison », « au travail » answer the question too
        reply.say("reply.checkout.ask_address_named", names=", ".join(names[:3]))
    for address in saved[:3]:
        label = label_of(reply, address)
        title = f"📍 {label} — {address.street}" if label else f"📍 {address.street}"
        reply.buttons.append({"title": title, "payload": payload("choose_delivery", address_id=str(address.id))})


# --- the person's saved addresses ------------------------------------------------------------------


def label_words(text: str) -> str:
    """A message folded, without the words around a name nor numbers: « livre au travail » -> "travail",
    « l'adresse 3 s'appelle chez maman » -> "maman"; names are compared the same way."""
    return " ".join(word for word in re.findall(r"[^\W\d_]+", fold(text)) if word not in LABEL_FILLERS)


def label_meant(text: str) -> str | None:
    """ "home" or "work" when all a message says is one of them, in any language (« à la maison », « zur
    Arbeit », "at work"), else None."""
    rest = label_words(text)
    return next((name for name, words in LABEL_WORDS.items() if rest in words), None) if rest else None


def saved_named(text: str, saved: list[SavedAddress]) -> SavedAddress | None:
    """The saved address a short message names: « livre au travail », "home", « chez maman » for an address the
    person named so; None when the message says anything more than a name."""
    rest = label_words(text)
    if not rest:
        return None
    meant = label_meant(text)
    return next((a for a in saved if a.label and (a.label == meant or label_words(a.label) == rest)), None)


def label_given(text: str) -> str | None:
    """The name a message gives an address: "home" or "work" in any language, else the words after the last of
    « comme », "as", « als », « come »… (« chez maman »), else what is left once the words around a name are
    dropped (« nomme l'adresse 2 chalet »); None when it gives none."""
    words = label_words(text).split()
    known = next((name for name, names in LABEL_WORDS.items() if any(word in names for word in words)), None)
    if known:
        return known
    markers = list(NAME_MARKER.finditer(text))
    if markers:
        after = text[markers[-1].end() :].split()
        while after and fold(after[0]).strip() in LEADING:
            after.pop(0)
        while after and fold(after[-1]).strip() in TRAILING:
            after.pop()
        name = " ".join(after).strip(" .!?«»\"'")
        if name:
            return name
    return " ".join(words) or None


def offer_names(reply: Reply, address: SavedAddress, key: str = "reply.addresses.name_which") -> None:
    """Ask how to call an address, with the buttons [Maison] [Travail] [Pas de nom]."""
    reply.say(key, address=one_line(address))
    for label, button in (("home", "button.name_home"), ("work", "button.name_work"), (NO_NAME, "button.name_none")):
        reply.button(button, payload("name_address", address_id=str(address.id), address_label=label))


def offer_to_name(turn: Turn, known: set[int]) -> None:
    """After an order to an address the person never used before: offer to name it, unless it has a name already
    (their first address is their "home")."""
    latest = last_address(turn.uow, turn.person)
    if latest is not None and latest.id not in known and not latest.label:
        offer_names(turn.reply, latest, "reply.addresses.name_offer")


def label_of(reply: Reply, saved: SavedAddress) -> str:
    """ "Domicile" for "home", "Travail" for "work", any other label as it was given."""
    if saved.label in ("home", "work"):
        return reply.t(f"address.label.{saved.label}")
    return saved.label


def list_saved(turn: Turn, saved: list[SavedAddress]) -> None:
    reply = turn.reply
    if not saved:
        reply.say("reply.addresses.none")
        return
    reply.say("reply.addresses.list")
    for number, address in enumerate(saved[:LIST_LIMIT], start=1):
        label = label_of(reply, address)
        if label:
            reply.say("reply.addresses.labelled", number=number, label=label, address=one_line(address))
        else:
            reply.line(f"{number}. {one_line(address)}")
        reply.button("button.delete_address", payload("delete_address", address_id=str(address.id)), number=number)
    reply.say("reply.addresses.name_hint")


class ActionListAddresses(MarketplaceAction):
    """« mes adresses »: the person's own saved addresses, each with a button to delete it."""

    action_name = "action_list_addresses"

    def handle(self, turn: Turn) -> list[EventType]:
        list_saved(turn, list_addresses(turn.uow, turn.person))
        return []


class ActionDeleteAddress(MarketplaceAction):
    """« supprime l'adresse 2 » (its place in the list shown) or the list's button (its id): only the person's
    own addresses; any other id is answered as one that does not exist."""

    action_name = "action_delete_address"

    def handle(self, turn: Turn) -> list[EventType]:
        saved = list_addresses(turn.uow, turn.person)
        pressed = latest_entity(turn.tracker, "address_id")
        if pressed is not None:
            target = get_address(turn.uow, turn.person, int(pressed) if pressed.isdigit() else -1)
        elif (named := saved_named(turn.text, saved)) is not None:  # « supprime l'adresse du travail »
            target = named
        else:
            position = parse_position(turn.text)
            if position is None or not saved:
                turn.reply.say("reply.addresses.which")
                list_saved(turn, saved)
                return []
            if not 1 <= position <= len(saved):
                turn.reply.say("error.address_not_found")
                list_saved(turn, saved)
                return []
            target = saved[position - 1]
        shown = one_line(target)
        delete_address(turn.uow, turn.person, target.id)
        turn.reply.say("reply.addresses.deleted", address=shown)
        return []


class ActionNameAddress(MarketplaceAction):
    """« enregistre cette adresse comme travail », « l'adresse 2 s'appelle chez maman », or a button offered after
    an order ([Maison] [Travail] [Pas de nom]): a name for one of the person's own addresses — the one pressed,
    the one at that place in the list, else the last used. Any other id is answered as one that does not exist."""

    action_name = "action_name_address"

    def handle(self, turn: Turn) -> list[EventType]:
        reply = turn.reply
        pressed, label = turn.entity("address_id"), turn.entity("address_label")
        if pressed is None and DELETE_WORDS & set(fold(turn.text).split()):  # « supprime l'adresse chez maman »
            return ActionDeleteAddress().handle(turn)  # NLU may take a name in it for naming: never rename then
        if pressed is not None:
            target = get_address(turn.uow, turn.person, int(pressed) if pressed.isdigit() else -1)
        else:
            saved = list_addresses(turn.uow, turn.person)
            if not saved:
                reply.say("reply.addresses.none")
                return []
            position = parse_position(turn.text)
            if position is not None and not 1 <= position <= len(saved):
                reply.say("error.address_not_found")
                list_saved(turn, saved)
                return []
            target = saved[position - 1] if position else saved[0]
            label = label_given(turn.text)
        if label is None:
            offer_names(reply, target)
            return []
        try:
            named = name_address(turn.uow, turn.person, target.id, "" if label == NO_NAME else label)
        except InvalidAddress:
            reply.say("reply.addresses.label_invalid", limit=LIMITS["label"])
            return []
        if named.label:
            reply.say("reply.addresses.named", address=one_line(named), label=label_of(reply, named))
        else:
            reply.say("reply.addresses.unnamed", address=one_line(named))
        return []


class ActionSharedOutsideCheckout(MarketplaceAction):
    """A location or contact shared when no checkout asks for it: nothing is kept; it is asked when needed."""

    action_name = "action_shared_outside_checkout"

    def handle(self, turn: Turn) -> list[EventType]:
        turn.reply.say("reply.share.outside_checkout")
        return []
