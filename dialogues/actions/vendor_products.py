"""Vendors' products by sentence, and what vendors and couriers earned: thin adapters over `work/products.py`
and `checkout/earnings.py`, rendered from `locales/`.

« nouveau produit : confiture d'abricots, 250 g, 7.50, 20 pots, bio » proposes the product and shows it with
Confirm / Cancel buttons (their payloads repeat the intent with `choice` and the product's id: no NLU);
« retire la confiture de fraises » takes one off sale; « en allemand : Aprikosenkonfitüre » names the product
just created (or the one named before the language) in another language; « combien j'ai gagné ce mois »
gives the month's earnings, or a delivery company's runs and fees to its couriers.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from rasa_sdk.events import EventType

from catalog.resolve import resolve_in_sentence
from catalog.services import ProductView
from catalog.text import fold
from checkout.earnings import (
    courier_earnings,
    courier_earnings_text,
    parse_month,
    vendor_earnings,
    vendor_earnings_text,
)
from dialogues.actions.base import MarketplaceAction, Turn
from dialogues.actions.shopping import MAX_TEXT, ActionRemoveFromBasket, ActionSearchProducts, payload
from dialogues.actions.vendor import own_product, shop_instead
from marketplace.accounts import Role, roles_of
from marketplace.clock import utcnow
from marketplace.i18n import format_number, unit_label
from work.products import (
    NewProduct,
    cancel_product,
    confirm_product,
    latest_product,
    name_in_language,
    parse_new_product,
    propose_product,
    withdraw_product,
)
from work.vendors import match_own_product, vendor_of

# « en allemand : », "in German:", « auf Deutsch: », « in tedesco: » -> the language of the name that follows.
LANGUAGE_WORDS = {
    "fr": ("francais", "franzosisch", "french", "francese"),
    "de": ("allemand", "deutsch", "german", "tedesco"),
    "it": ("italien", "italienisch", "italian", "italiano"),
    "en": ("anglais", "englisch", "english", "inglese"),
}
_LANGUAGE = re.compile(
    r"\b(?:en|in|auf|on)\s+(" + "|".join(w for words in LANGUAGE_WORDS.values() for w in words) + r")\b\s*[:=]?\s*"
)
# Words around the language that name no product (« le nom en allemand est … », "the name in German is …").
_FILLERS = frozenset({"le", "la", "les", "l", "son", "sa", "nom", "traduction", "ajoute", "the", "its", "name",
                      "translation", "add", "der", "die", "das", "ubersetzung", "il", "lo", "nome",
                      "traduzione", "aggiungi", "ajouter", "namen", "englischen", "franzosischen", "fuge", "hinzu",
                      *(word for words in LANGUAGE_WORDS.values() for word in words)})  # fmt: skip
_NAME_LEAD = re.compile(r"^(?:ça se dit|ca se dit|se dit|c'est|est|si dice|è|heisst es|heißt es|heisst|heißt|ist|"
                        r"it is called|is called|is|:)\s+", re.IGNORECASE)  # fmt: skip
_LAST_MONTH = (
    "mois dernier", "mois passe", "mois precedent", "last month", "previous month", "letzten monat", "letzter monat",
    "vormonat", "vergangenen monat", "mese scorso", "mese passato", "mese precedente",
)  # fmt: skip
_ISO_MONTH = re.compile(r"\b(\d{4}-\d{1,2})\b")


BASKET_WORDS = frozenset({"panier", "basket", "cart", "warenkorb", "korb", "carrello"})


def _vendor(turn: Turn) -> bool:
    """Whether the speaker is a member of some vendor (approved or not: `vendor_of` then says why they may not)."""
    return any(m.role == Role.VENDOR_MEMBER for m in turn.person.memberships)


def search_if_catalog_names(turn: Turn) -> list[EventType] | None:
    """A message the model did not understand (the fallback) that clearly names a product of the
    catalog (« je cherche de la confiture de rhubarbe », a product created by chat minutes ago, whose words the
    model never saw): answered as the search it is, from the catalog, without retraining. None otherwise."""
    text = turn.text[:MAX_TEXT]
    if not text or text.startswith("/"):
        return None
    if resolve_in_sentence(turn.uow, turn.app.search, text, turn.lang).product is None:
        return None
    return ActionSearchProducts().handle(turn) or []


def _product_id(turn: Turn) -> int | None:
    value = (turn.entity("product") or "").lstrip("#")
    return int(value) if value.isdigit() else None


def summary(turn: Turn, product: ProductView, period: str) -> str:
    """ "Confiture d'abricots — 7,50 CHF / 250 g — stock 20 — Épicerie — Bio" as the vendor will see it sold."""
    reply = turn.reply
    stock = format_number(product.stock, turn.lang)
    capacity = reply.t(f"vendor.new_product.per_{period}", stock=stock) if period else reply.t(
        "vendor.new_product.stock", stock=stock
    )
    parts = [product.name, f"{reply.chf(product.price.amount)} / {unit_label(product.unit, turn.lang)}", capacity,
             product.category_name, *product.label_names]  # fmt: skip
    return " — ".join(parts)


class ActionVendorNewProduct(MarketplaceAction):
    action_name = "action_vendor_new_product"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_instead(turn)) is not None:  # a shopper's « ajoute 2 pots de confiture »
            return shopped
        vendor_of(turn.person)  # the rights check first: a consumer, a pending or suspended vendor is told why
        choice, product_id = turn.entity("choice"), _product_id(turn)
        if choice and product_id is not None:
            return self._decided(turn, choice, product_id)
        new = parse_new_product(turn.text[:MAX_TEXT], turn.lang) if not turn.text.startswith("/") else None
        only_a_name = new is not None and new == NewProduct(new.name, service=new.service)
        if new is None or only_a_name:  # « nouveau produit », « comment j'ajoute un produit ? »: say how
            turn.reply.say("vendor.new_product.how")
            return []
        if new.price is None:
            turn.reply.say("vendor.new_product.no_price", product=new.name)
            return []
        self._propose(turn, new)
        return []

    @staticmethod
    def _propose(turn: Turn, new: NewProduct) -> None:
        product = propose_product(turn.uow, turn.person, new, turn.lang)
        reply = turn.reply
        reply.say("vendor.new_product.summary", summary=summary(turn, product, new.capacity_period))
        if new.unread:
            reply.say("vendor.new_product.unread", parts=", ".join(f"« {part} »" for part in new.unread))
        reply.say("vendor.new_product.confirm")
        product_ref = f"#{product.id}"
        reply.button("button.product.confirm", payload("vendor_new_product", choice="confirm", product=product_ref))
        reply.button("button.product.cancel", payload("vendor_new_product", choice="cancel", product=product_ref))

    @staticmethod
    def _decided(turn: Turn, choice: str, product_id: int) -> list[EventType]:
        if choice == "confirm":
            product = confirm_product(turn.uow, turn.person, product_id, turn.lang)
            turn.reply.say("vendor.new_product.on_sale", product=product.name)
        elif cancel_product(turn.uow, turn.person, product_id):
            turn.reply.say("vendor.new_product.cancelled")
        else:
            turn.reply.say("vendor.new_product.already_on_sale")
        return []


class ActionVendorWithdrawProduct(MarketplaceAction):
    action_name = "action_vendor_withdraw_product"

    def handle(self, turn: Turn) -> list[EventType]:
        if not _vendor(turn) or any(word in fold(turn.text).split() for word in BASKET_WORDS):
            # « retire la confiture de fraises » from a shopper, or « ... de mon panier »: their basket is meant
            return ActionRemoveFromBasket().handle(turn) or []
        product = own_product(turn, "vendor_withdraw_product")  # rights check; asks which one when unclear
        if product is None:
            return []
        withdrawn = withdraw_product(turn.uow, turn.person, product.id, turn.lang)
        turn.reply.say("vendor.product_withdrawn", product=withdrawn.name, sku=withdrawn.sku)
        return []


class ActionVendorTranslateProduct(MarketplaceAction):
    action_name = "action_vendor_translate_product"

    def handle(self, turn: Turn) -> list[EventType]:
        vendor_of(turn.person)
        text = turn.text[:MAX_TEXT]
        said = _LANGUAGE.search(fold(text))
        if said is None:
            turn.reply.say("vendor.translate.how")
            return []
        name_lang = next(code for code, words in LANGUAGE_WORDS.items() if said.group(1) in words)
        # The name as typed (accents, capitals): the words after the language, and the product's before it.
        words = text.split()
        at = next((i for i, word in enumerate(words) if fold(word).strip() == said.group(1)), len(words) - 1)
        name = _NAME_LEAD.sub("", " ".join(words[at + 1 :]).lstrip(":= ")).strip()
        before = " ".join(w for w in fold(" ".join(words[: max(at - 1, 0)])).split() if w not in _FILLERS)
        if before:  # a product is named: that one, never another (« les tomates en italien : pomodori »)
            product = match_own_product(turn.uow, turn.person, before, turn.lang).exact
            if product is None:
                turn.reply.say("vendor.product_unknown", product=before[:60])
                return []
        else:
            product = latest_product(turn.uow, turn.person, turn.lang)
        if product is None or not name:
            turn.reply.say("vendor.translate.how")
            return []
        named = name_in_language(turn.uow, turn.person, product.id, name_lang, name, turn.lang)
        language = turn.reply.t(f"vendor.translate.lang_{name_lang}")
        turn.reply.say("vendor.translate.done", product=named.name, language=language, name=" ".join(name.split()))
        return []


def translate_if_said(turn: Turn) -> list[EventType] | None:
    """A vendor's « en allemand : Rhabarberkonfitüre » that the model did not understand (a name it never saw
    can tip the sentence into the fallback): still the translation it plainly is. None for anyone else."""
    if not _vendor(turn) or _LANGUAGE.search(fold(turn.text[:MAX_TEXT])) is None:
        return None
    return ActionVendorTranslateProduct().handle(turn)


def month_meant(text: str, today: date) -> date:
    """The month a sentence asks about: "2026-10", « le mois dernier », else the current month."""
    if (iso := _ISO_MONTH.search(text)) is not None:
        return parse_month(iso.group(1))
    if any(phrase in " ".join(fold(text).split()) for phrase in _LAST_MONTH):
        return date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)
    return today.replace(day=1)


class ActionVendorEarnings(MarketplaceAction):
    action_name = "action_vendor_earnings"

    def handle(self, turn: Turn) -> list[EventType]:
        settings = turn.app.settings
        today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
        month = month_meant(turn.text, today)
        roles = roles_of(turn.person)
        if Role.COURIER in roles and Role.VENDOR_MEMBER not in roles:
            earned = courier_earnings(turn.uow, turn.person, month, settings.timezone)
            turn.reply.line(courier_earnings_text(earned, turn.lang))
            return []
        earnings = vendor_earnings(turn.uow, turn.person, month, settings.timezone, settings.platform_commission_pct)
        turn.reply.line(vendor_earnings_text(earnings, turn.lang, settings.local_currency.name))
        return []
