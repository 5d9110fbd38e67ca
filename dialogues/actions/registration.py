"""A business applies by chat: « je suis producteur et je veux vendre », `/register`, in any of the four languages.

The registration form asks, one at a time: the kind of business, the trade name, the Swiss company number (UID,
check digit verified; « aucun » for a sole trader), the address, the IBAN for payouts, the share of prices
accepted in local currency, the main categories (not for a delivery company), a short description, and the
agreement to the marketplace's terms, shown with a summary of the answers. Each answer is checked as it is given
by the core's own checks (`marketplace.applications`), so a wrong UID or IBAN is refused with the reason and asked
again. As in the checkout form: « annuler » gives up at any step, « changer le nom » (the IBAN, the address…)
asks that answer again, and a question in the middle (« c'est quoi le Léman ? ») is answered before the form
asks its question again. The last step submits the application (`action_submit_registration`).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from catalog.taxonomy import categories
from catalog.text import fold
from dialogues.actions.base import (
    MarketplaceAction,
    MarketplaceFormValidation,
    Turn,
    latest_entity,
    latest_intent,
    marketplace,
    metadata_language,
    typed_text,
)
from dialogues.actions.shopping import payload
from marketplace.accounts import OrganisationKind
from marketplace.applications import (
    TERMS_VERSION,
    ApplicationDraft,
    InvalidApplication,
    checked_address,
    checked_categories,
    checked_description,
    checked_share,
    checked_trade_name,
    format_iban,
    kind_name,
    normalise_iban,
    normalise_uid,
    submit_application,
)
from marketplace.errors import MarketplaceError
from marketplace.i18n import error_message, resolve_language

FORM_SLOTS = (
    "business_kind", "trade_name", "business_uid", "business_address", "business_iban", "leman_share",
    "business_categories", "business_description", "terms_accepted",
)  # fmt: skip
KINDS = tuple(kind.value for kind in OrganisationKind)
SHARES = ("0", "10", "20", "50", "100")  # the buttons; any whole percentage may be typed

# Words that name a kind of business, folded (« producteur », "Hofladen", "corriere"…).
KIND_WORDS = {
    "producer": r"produc\w*|agricult\w*|paysan\w*|maraich\w*|vigneron\w*|apicult\w*|ferme|farm\w*|grower|"
                r"produzent\w*|erzeuger\w*|bauer\w*|landwirt\w*|winzer\w*|imker\w*|produtt\w*|contadin\w*|"
                r"agricolt\w*|viticolt\w*",
    "shop": r"magasin|boutique|epicerie|commerc\w*|shop|store|retailer|laden|geschaft|hofladen|negozi\w*|"
            r"bottega|alimentari",
    "service": r"service\w*|prestatair\w*|artisan\w*|repar\w*|atelier\w*|dienstleist\w*|handwerk\w*|"
               r"servizi\w*|artigian\w*|riparaz\w*|repair\w*|workshop\w*|provider",
    "delivery": r"livr\w*|coursier\w*|transport\w*|velo|lieferdienst\w*|liefer\w*|kurier\w*|consegn\w*|"
                r"corrier\w*|fattorin\w*|deliver\w*|courier\w*",
    "marketplace": r"place de marche|plateforme|marktplatz|plattform|mercato|piattaforma|marketplace|platform",
}
KIND_PATTERNS = {kind: re.compile(rf"\b(?:{words})\b") for kind, words in KIND_WORDS.items()}
CANCEL = re.compile(
    r"^(?:annule[rz]?|j abandonne|abandonner|stop|laisse tomber|abbrechen|vergiss es|annulla(?:re)?|lascia perdere|"
    r"cancel|forget it|never mind)(?: (?:l inscription|la demande|die anmeldung|l iscrizione|the registration))?$"
)
# « changer le nom », "andere IBAN", « correggi l'indirizzo », "change the description": which answer to ask again.
CHANGE = re.compile(
    r"\b(?:chang\w*|modif\w*|corrig\w*|autre|andere\w*|aender\w*|andern|korrig\w*|cambi\w*|correggi\w*|"
    r"change|correct\w*|edit|fix|other)\b"
)
FIELD_WORDS = {
    "business_kind": r"type|genre|activite|art|typ|tipo|kind",
    "trade_name": r"nom|raison sociale|name|firmenname|nome|ragione sociale",
    "business_uid": r"ide|uid|numero ide|numero d entreprise|unternehmens\w*|che",
    "business_address": r"adresse|address|indirizzo|anschrift",
    "business_iban": r"iban|compte|konto|conto|account",
    "leman_share": r"part|leman|anteil|quota|share",
    "business_categories": r"categori\w*|kategori\w*|rubriqu\w*",
    "business_description": r"description|beschreibung|descrizione",
}
FIELD_PATTERNS = {slot: re.compile(rf"\b(?:{words})\b") for slot, words in FIELD_WORDS.items()}
NO_UID = re.compile(
    r"\b(?:aucun|pas de|non|raison individuelle|independant|kein\w*|nein|einzelunternehm\w*|nessun\w*|no|"
    r"ditta individuale|none|sole trader|self employed)\b"
)
PERCENT = re.compile(r"(?<![\d.,])(\d{1,3})(?![\d.,])")
# Questions answered in the middle of the form (dialogues/data/rules.yml), then the form asks again.
QUESTIONS = {"help", "bot_challenge", "out_of_scope", "search_product", "product_details", "request_my_data"}


def _typed(tracker: Tracker) -> str:
    """What the person typed; a payload carries its values as entities instead."""
    text = typed_text(tracker)
    return "" if text.lstrip().startswith("/") else text.strip()


def parse_kind(text: str) -> str | None:
    folded = fold(text)
    found = [kind for kind, pattern in KIND_PATTERNS.items() if pattern.search(folded)]
    return found[0] if len(found) == 1 else None


def parse_share(text: str) -> int | None:
    """ "20", "20 %", « la moitié »: a whole percentage; « aucune », "none": 0."""
    folded = fold(text)
    match = PERCENT.search(folded)
    if match:
        return int(match[1])
    if re.search(r"\b(?:moitie|halfte|halb|meta|half)\b", folded):
        return 50
    if re.search(r"\b(?:tout|toute|alles|ganz|tutto|all|everything)\b", folded):
        return 100
    if re.search(r"\b(?:aucun\w*|rien|non|kein\w*|nichts|nein|nessun\w*|niente|none|no|nothing)\b", folded):
        return 0
    return None


def parse_categories(text: str) -> list[str]:
    """The catalog's categories named in a message, in any language (« légumes et fromages » -> vegetables, cheese)."""
    folded = f" {fold(text)} "
    found: list[str] = []
    for slug, term in categories().items():
        names = {fold(name).strip() for name in term.names.values()} | {slug}
        # The category's other words too (« confitures » is sweets, « sirops » drinks), none too short to be safe.
        words = {fold(word).strip() for word in term.words if len(word) >= 4} - names
        for name in names | words:
            shortest = 5 if name in words else 4  # « pain » must not become « pai » (« paiement »)
            stem = name[:-1] if name.endswith(("s", "e", "i", "n")) and len(name) >= shortest else name
            if re.search(rf"\b{re.escape(stem)}\w*", folded):
                found.append(slug)
                break
    return found


def control_of(tracker: Tracker) -> str | None:
    """ "cancel" for « annuler », the slot to ask again for « changer le nom »; None for an answer."""
    folded = " ".join(fold(_typed(tracker)).split())
    if not folded:
        return None
    if CANCEL.match(folded):
        return "cancel"
    if CHANGE.search(folded) and len(folded.split()) <= 6:
        for slot, pattern in FIELD_PATTERNS.items():
            if pattern.search(folded):
                return slot
    return None


def is_question(tracker: Tracker) -> bool:
    return latest_intent(tracker) in QUESTIONS and _typed(tracker).endswith("?")


def form_language(tracker: Tracker) -> str:
    app = marketplace()
    return resolve_language(app.settings.languages, tracker.get_slot("language"), metadata_language(tracker))


class ValidateRegistrationForm(MarketplaceFormValidation):
    """Fills the registration form's slots from buttons or typed answers, each checked by the core's rules."""

    def name(self) -> str:
        return "validate_registration_form"

    async def required_slots(
        self, domain_slots: list[str], _dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict[str, Any]
    ) -> list[str]:
        if tracker.get_slot("terms_accepted") is False:  # given up: the form ends, the submit action says so
            return ["terms_accepted"]  # (not []: rasa-sdk validates, so returns, only the slots listed here)
        if tracker.get_slot("business_kind") == OrganisationKind.DELIVERY:
            return [s for s in domain_slots if s != "business_categories"]
        return list(domain_slots)

    def _answer(self, tracker: Tracker, slot: str) -> str | None:
        """The typed answer to `slot`'s question, when it was asked and this is no cancel, change or question."""
        if tracker.get_slot("requested_slot") != slot or control_of(tracker) or is_question(tracker):
            return None
        return _typed(tracker) or None

    def _refuse(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, error: MarketplaceError) -> dict:
        dispatcher.utter_message(text=error_message(error, form_language(tracker)))
        return {slot: None}

    # --- the controls: give up, change an answer --------------------------------------------------------

    async def extract_terms_accepted(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        control = control_of(tracker)
        if control == "cancel":
            return {"terms_accepted": False}
        if control is not None:  # that answer is asked again, and the summary shown again after it
            return {control: None, "terms_accepted": None}
        if tracker.get_slot("requested_slot") != "terms_accepted" or is_question(tracker):
            return {}
        intent = latest_intent(tracker)
        if intent == "affirm" and all(latest_entity(tracker, e) is None for e in ("business_kind", "leman_share")):
            return {"terms_accepted": True}
        if intent == "deny":
            return {"terms_accepted": False}
        return {}

    # --- the answers ------------------------------------------------------------------------------------

    async def extract_business_kind(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        pressed = latest_entity(tracker, "business_kind")
        if pressed is not None:
            return {"business_kind": pressed}
        requested = tracker.get_slot("requested_slot")
        # The first message often says it (« je suis producteur et je veux vendre »): no need to ask.
        if requested not in (None, "business_kind") or control_of(tracker) or is_question(tracker):
            return {}
        if requested is None and tracker.get_slot("business_kind") is not None:
            return {}
        kind = parse_kind(_typed(tracker))
        return {"business_kind": kind} if kind else {}

    async def validate_business_kind(self, value: Any, _d: CollectingDispatcher, _t: Tracker, _domain: dict) -> dict:
        return {"business_kind": value if value in KINDS else None}

    async def extract_trade_name(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        answer = self._answer(tracker, "trade_name")
        return {"trade_name": answer} if answer else {}

    async def validate_trade_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        if value is None:
            return {"trade_name": None}
        try:
            return {"trade_name": checked_trade_name(str(value))}
        except MarketplaceError as error:
            return self._refuse(dispatcher, tracker, "trade_name", error)

    async def extract_business_uid(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        answer = self._answer(tracker, "business_uid")
        if not answer:
            return {}
        has_digits = any(c.isdigit() for c in answer)
        return {"business_uid": "" if not has_digits and NO_UID.search(fold(answer)) else answer}

    async def validate_business_uid(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _dom: dict):
        if value is None or value == "":  # "": a sole trader without a UID
            return {"business_uid": value}
        try:
            return {"business_uid": normalise_uid(str(value))}
        except MarketplaceError as error:
            return self._refuse(dispatcher, tracker, "business_uid", error)

    async def extract_business_address(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        answer = self._answer(tracker, "business_address")
        return {"business_address": answer} if answer else {}

    async def validate_business_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        if value is None:
            return {"business_address": None}
        try:
            return {"business_address": checked_address(str(value))}
        except MarketplaceError as error:
            return self._refuse(dispatcher, tracker, "business_address", error)

    async def extract_business_iban(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        answer = self._answer(tracker, "business_iban")
        return {"business_iban": answer} if answer else {}

    async def validate_business_iban(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _dom: dict):
        if value is None:
            return {"business_iban": None}
        try:
            return {"business_iban": normalise_iban(str(value))}
        except MarketplaceError as error:
            return self._refuse(dispatcher, tracker, "business_iban", error)

    async def extract_leman_share(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        pressed = latest_entity(tracker, "leman_share")
        if pressed is not None and tracker.get_slot("requested_slot") == "leman_share":
            return {"leman_share": pressed}
        answer = self._answer(tracker, "leman_share")
        if not answer:
            return {}
        share = parse_share(answer)
        return {"leman_share": str(share) if share is not None else answer}

    async def validate_leman_share(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict):
        if value is None:
            return {"leman_share": None}
        text = str(value).strip()
        try:
            if not text.isdigit() or len(text) > 3:
                raise InvalidApplication(field="leman_share")
            return {"leman_share": str(checked_share(int(text)))}
        except MarketplaceError as error:
            return self._refuse(dispatcher, tracker, "leman_share", error)

    async def extract_business_categories(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        answer = self._answer(tracker, "business_categories")
        if not answer:
            return {}
        return {"business_categories": parse_categories(answer) or ["?"]}

    async def validate_business_categories(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        if value is None:
            return {"business_categories": None}
        try:
            chosen = checked_categories([str(v) for v in (value if isinstance(value, list) else [value])])
            return {"business_categories": list(chosen)}
        except MarketplaceError as error:
            return self._refuse(dispatcher, tracker, "business_categories", error)

    async def extract_business_description(self, _d: CollectingDispatcher, tracker: Tracker, _domain: dict) -> dict:
        answer = self._answer(tracker, "business_description")
        return {"business_description": answer} if answer else {}

    async def validate_business_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, _domain: dict
    ) -> dict:
        if value is None:
            return {"business_description": None}
        try:
            return {"business_description": checked_description(str(value))}
        except MarketplaceError as error:
            return self._refuse(dispatcher, tracker, "business_description", error)


# --- the questions -------------------------------------------------------------------------------------------


class AskRegistration(MarketplaceAction):
    """Asks one question of the registration form; `key` is its sentence."""

    key = ""

    def handle(self, turn: Turn) -> list[EventType]:
        turn.reply.say(self.key, currency=turn.app.settings.local_currency.name)
        return []


class ActionAskBusinessKind(MarketplaceAction):
    action_name = "action_ask_business_kind"

    def handle(self, turn: Turn) -> list[EventType]:
        turn.reply.say("reply.registration.ask_kind")
        for kind in KINDS:
            turn.reply.buttons.append(
                {"title": kind_name(kind, turn.lang), "payload": payload("affirm", business_kind=kind)}
            )
        turn.reply.say("reply.registration.controls")
        return []


class ActionAskTradeName(AskRegistration):
    action_name = "action_ask_trade_name"
    key = "reply.registration.ask_trade_name"


class ActionAskBusinessUid(AskRegistration):
    action_name = "action_ask_business_uid"
    key = "reply.registration.ask_uid"


class ActionAskBusinessAddress(AskRegistration):
    action_name = "action_ask_business_address"
    key = "reply.registration.ask_address"


class ActionAskBusinessIban(AskRegistration):
    action_name = "action_ask_business_iban"
    key = "reply.registration.ask_iban"


class ActionAskLemanShare(MarketplaceAction):
    action_name = "action_ask_leman_share"

    def handle(self, turn: Turn) -> list[EventType]:
        currency = turn.app.settings.local_currency.name
        turn.reply.say("reply.registration.ask_leman_share", currency=currency)
        for share in SHARES:
            turn.reply.buttons.append({"title": f"{share} %", "payload": payload("affirm", leman_share=share)})
        return []


class ActionAskBusinessCategories(MarketplaceAction):
    action_name = "action_ask_business_categories"

    def handle(self, turn: Turn) -> list[EventType]:
        names = ", ".join(term.name(turn.lang) for term in categories().values())
        turn.reply.say("reply.registration.ask_categories", categories=names)
        return []


class ActionAskBusinessDescription(AskRegistration):
    action_name = "action_ask_business_description"
    key = "reply.registration.ask_description"


class ActionAskTermsAccepted(MarketplaceAction):
    """The summary of every answer, the terms, and the two buttons."""

    action_name = "action_ask_terms_accepted"

    def handle(self, turn: Turn) -> list[EventType]:
        slots, reply = turn.tracker.get_slot, turn.reply
        chosen = [categories()[s].name(turn.lang) for s in slots("business_categories") or [] if s in categories()]
        reply.say(
            "reply.registration.summary",
            kind=kind_name(str(slots("business_kind")), turn.lang),
            name=slots("trade_name"),
            uid=slots("business_uid") or reply.t("application.no_uid"),
            address=slots("business_address"),
            iban=format_iban(str(slots("business_iban") or "")),
            share=slots("leman_share"),
            currency=turn.app.settings.local_currency.name,
            categories=", ".join(chosen) or "—",
            description=slots("business_description"),
        )
        reply.say("reply.registration.terms", marketplace=turn.app.settings.name, version=TERMS_VERSION)
        reply.button("button.registration.accept", "/affirm")
        reply.button("button.registration.cancel", "/deny")
        return []


# --- the end --------------------------------------------------------------------------------------------------


def _reset() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


class ActionSubmitRegistration(MarketplaceAction):
    action_name = "action_submit_registration"

    def handle(self, turn: Turn) -> list[EventType]:
        slots = turn.tracker.get_slot
        if slots("terms_accepted") is not True:
            turn.reply.say("reply.registration.cancelled")
            return _reset()
        draft = ApplicationDraft(
            kind=str(slots("business_kind")),
            trade_name=str(slots("trade_name") or ""),
            address=str(slots("business_address") or ""),
            iban=str(slots("business_iban") or ""),
            uid=str(slots("business_uid") or ""),
            leman_share_pct=int(str(slots("leman_share") or "0")),
            categories=tuple(slots("business_categories") or ()),
            description=str(slots("business_description") or ""),
            terms_version=TERMS_VERSION,
        )
        application = submit_application(turn.uow, turn.person, draft, turn.lang)
        turn.reply.say("reply.registration.submitted", number=application.id, name=application.trade_name)
        return _reset()

    def on_error(self, _error: MarketplaceError) -> list[EventType]:
        return _reset()


class ActionInterruptRegistration(MarketplaceAction):
    """A question in the middle of the registration: answer it, then the form asks its question again."""

    action_name = "action_interrupt_registration"

    def handle(self, turn: Turn) -> list[EventType]:
        from dialogues.actions import HANDLERS

        handler = HANDLERS.get(turn.intent)
        events = handler.handle(turn) if handler else []
        turn.reply.say("reply.registration.resume")
        return events or []


# --- the name used on deliveries ---------------------------------------------------------------------------

NAME_LEAD = re.compile(
    r"\b(?:appel(?:ez|le)[- ]moi|(?:m['’ ]?)?appeler|je m['’ ]?appelle|qu['’ ]?on m['’ ]?appelle|"
    r"mon (?:nom|prénom|prenom)(?: pour la livraison)? (?:est|c['’]est|:)|(?:change[rz]?|mettez) mon nom(?: en)?|"
    r"nenn(?:en Sie|t)? mich|ich hei(?:ß|ss)e|mein (?:Vor)?[Nn]ame(?: für die Lieferung)? (?:ist|lautet)|"
    r"(?:ändere|trag) meinen Namen(?: auf| als)?|"
    r"chiam(?:ami|atemi)(?: pure)?|chiamarmi|mi chiamo|il (?:mio )?nome(?: di battesimo| per la consegna)? (?:è|e)|"
    r"(?:cambia|metti) il mio nome(?: in)?|"
    r"call me|my (?:first )?name(?:'s| is)|i am called|i'm called|the name for delivery is|"
    r"(?:change|put) my name(?: to| as)?)\s+",
    re.IGNORECASE,
)


def name_in(text: str) -> str | None:
    """ "appelez-moi Ana" -> "Ana": up to four words after the lead, as typed (case and accents kept)."""
    match = NAME_LEAD.search(text)
    if match is None:
        return None
    words = re.sub(r"[.!?,;]+$", "", text[match.end() :].strip()).split()
    return " ".join(words[:4]) or None


class ActionSetName(MarketplaceAction):
    """« Appelez-moi Ana », "call me Ana": the name used on deliveries (as `/name Ana`)."""

    action_name = "action_set_name"

    def handle(self, turn: Turn) -> list[EventType]:
        from marketplace.accounts import set_display_name

        name = name_in(turn.text)
        if name is None:
            turn.reply.say("command.name.usage", name=turn.person.display_name or "—")
            return []
        turn.reply.say("command.name.done", name=set_display_name(turn.person, name))
        return []

