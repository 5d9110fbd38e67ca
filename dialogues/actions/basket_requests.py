"""What a shopper's message asks to put in the basket, read from the words themselves.

The quantity comes from `catalog.quantities` (the NLU's `quantity`/`unit` entities only where the words hold none),
the product from `catalog.resolve` over the whole sentence (the NLU's `product` entity only adds its words). A
message may be a shopping list (`catalog.resolve.split_shopping_list`): one `Wanted` per item. Whether the product
and quantity are clear enough to act on, and what to ask otherwise, is decided where the request is carried out
(`dialogues.actions.shopping.carry_out`).

Also here: whether a message the NLU took for something else (a search, small talk, a stock update from a customer)
is plainly a basket request, and whether it is a question or a vendor's stock statement, which never are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.quantities import SaidQuantity, read_quantities, said_quantity
from catalog.resolve import name_table, resolve_in_sentence, split_shopping_list
from catalog.services import ProductView
from catalog.text import fold
from dialogues.actions.base import Turn, latest_entities
from dialogues.actions.parsing import parse_quantity

MAX_MESSAGE = 1000  # a pasted shopping list is longer than a search; beyond this, text is ignored
MAX_ITEMS = 12  # items of one list carried out in one turn


@dataclass(frozen=True)
class Wanted:
    """One thing a shopper asked for: as written, with the quantity said and the product meant (or candidates)."""

    said: str  # the item as written, or the product's name when a button chose it
    quantity: SaidQuantity | None  # None: nothing said, which means one
    product: ProductView | None
    candidates: tuple[ProductView, ...] = ()  # when product is None: the plausible ones, best first


def message_text(turn: Turn) -> str:
    """What the person typed, cut to a size worth reading; empty for a button's payload (`/intent{...}`)."""
    text = turn.text
    return "" if text.lstrip().startswith("/") else text[:MAX_MESSAGE]


def entity_quantity(turn: Turn, text: str) -> SaidQuantity | None:
    """The quantity in the NLU's (or a button's) `quantity` and `unit` entities. Where the person's words hold that
    very value, the words were read already and say it is no quantity (« Gruyère 12 mois », « le 2 »)."""
    value = turn.entity("quantity")
    amount = parse_quantity(value)
    if value is None or amount is None or amount <= 0 or value.lower() in text.lower():
        return None
    return said_quantity(amount, turn.entity("unit"))


def read_wanted(turn: Turn, text: str, *, hint: str | None = None, fallback: SaidQuantity | None = None) -> Wanted:
    """One item: the first quantity said in `text` (else `fallback`), and the product the sentence names."""
    said = read_quantities(text, turn.lang)
    quantity = said[0] if said else fallback
    # Services step aside when goods are weighed or counted in containers (« 2 kg », "two loaves"); a bare count
    # may be of places in a course (« 2 Plätze im Backkurs »).
    goods = quantity is not None and (quantity.container is not None or quantity.measure not in (None, "h"))
    found = resolve_in_sentence(turn.uow, turn.app.search, text, turn.lang, entity=hint, goods_wanted=goods)
    return Wanted(text, quantity, found.product, found.candidates)


def read_request(turn: Turn, text: str | None = None) -> list[Wanted]:
    """The items a typed message asks for: one, or each item of a shopping list."""
    text = message_text(turn) if text is None else text
    items = split_shopping_list(text, turn.lang, catalog=name_table(turn.uow, turn.app.search))
    items = [item for item in items if not is_heading(item)][:MAX_ITEMS]
    if len(items) <= 1:
        hint = turn.entity("product")
        hint = None if hint is None or hint.startswith("#") else hint
        return [read_wanted(turn, text, hint=hint, fallback=entity_quantity(turn, text))]
    return [read_wanted(turn, item) for item in items]


def is_heading(item: str) -> bool:
    """A list's title line (« Fondue-Abend: », « pour la raclette : »), not an item, unless a quantity follows."""
    return item.rstrip().endswith(":")


def pending_items(turn: Turn) -> list[str]:
    """Items of a shopping list still to do, carried by a button after the product it chose (`product` values after
    the first: `/add_to_basket{"product": ["#12", "300 g de beurre"]}`)."""
    return [value for value in latest_entities(turn.tracker, "product")[1:] if not value.startswith("#")][:MAX_ITEMS]


# --- is it a basket request at all? -------------------------------------------------------------------------------

# Folded words and phrases. A question or a search stays one (« vous avez 2 kg de pommes ? »), unless the person
# also asks for the goods (« tu me mets 2 kg de pommes ? », "could I get two loaves").
_QUESTION = (
    "avez vous|vous avez|as tu|tu as|auriez vous|est ce|y a t il|il y a|ou en est|ou est|combien|quel|quelle|quels"
    "|quelles|pourquoi|comment|cherche|cherchons|recherche|trouve|trouver|montre|montrez|connaissez|vendez|proposez"
    "|haben sie|habt ihr|hast du|gibt es|wie|was|welche|welcher|welches|wo|warum|suche|suchen|finde|zeig|zeigen"
    "|wo ist|wo bleibt|verkaufen sie|avete|hai|c e|ci sono|quanto|quanti|quanta|quante|quale|quali|dove|perche"
    "|come|cerco|cerca|cercando|trovo|mostra|vendete|do you|have you|is there|are there|how|what|which|where|why"
    "|any|search|looking for|look for|find|show me|sell"
)
_REQUEST = (
    "ajoute|ajouter|ajoutez|ajouterais|rajoute|rajouter|rajoutez|mets|mettez|mettre|met|prends|prendre|prendrai"
    "|prendrais|voudrais|voudrions|veux|voulais|aimerais|faut|faudrait|donne|donnez|donner|reserve|reservez|garde"
    "|gardez|m ajouter|me mettre|me donner|me garder"
    "|fuge|fugen|fugt|gib|geben sie|nehme|nehmen|hatte gern|hatte gerne|mochte|mochten|brauche|brauchen|leg|lege"
    "|legen|pack|packe|packen|einpacken|reservieren|kauf|kaufe"
    "|aggiungi|aggiunga|aggiungere|metti|metta|mettere|vorrei|vorremmo|prendo|prendi|prenda|dammi|mi da|mi dia"
    "|voglio|mi serve|mi servono|mi porti|mi metta|mi aggiunga|tenga|tienimi"
    "|add|put|i d like|i would like|i want|i ll take|i ll have|give me|get me|need|can i have|could i have"
    "|can i get|could i get|may i have|i ll get|reserve|keep me"
)
_STOCK = (  # a vendor's stock statement, whoever sends it: never a purchase
    "j ai encore|j en ai|il me reste|il nous reste|nous avons encore|on a encore|en stock|stock|plus de|rupture"
    "|epuise|epuises|epuisee|epuisees|ich habe noch|wir haben noch|habe noch|haben noch|auf lager|am lager"
    "|ausverkauft|keine mehr|ho ancora|abbiamo ancora|mi restano|ci restano|in magazzino|scorte|esaurit|esaurito"
    "|esauriti|non ho piu|i have|i ve got|we have|we ve got|still have|in stock|sold out|out of|left in stock"
)
_UNDO = (  # taking out, cancelling, refusing: never a purchase
    "enleve|enlever|enlevez|retire|retirer|retirez|supprime|supprimer|supprimez|vide|vider|videz|annule|annuler"
    "|annulez|pas|non|aucun|aucune|jamais|sans les"
    "|entferne|entfernen|losche|loschen|storniere|stornieren|leere|leeren|raus|nicht|kein|keine|keinen|nein|nie"
    "|togli|togliere|tolga|rimuovi|rimuovere|cancella|cancellare|svuota|svuotare|annulla|annullare|niente|nessun"
    "|nessuna|mai"
    "|remove|delete|take out|take off|cancel|empty|clear|not|no|don t|dont|never|without the"
)
_ORDER = "commande|commandes|bestellung|bestellungen|ordine|ordini|order|orders"
_QUESTION_RE = re.compile(rf"\b(?:{_QUESTION})\b")
_UNDO_RE = re.compile(rf"\b(?:{_UNDO})\b")
_ORDER_RE = re.compile(rf"\b(?:{_ORDER})\b")
_REQUEST_RE = re.compile(rf"\b(?:{_REQUEST})\b")
_STOCK_RE = re.compile(rf"\b(?:{_STOCK})\b")


def asks_question(text: str) -> bool:
    """A question or a search (« vous avez 2 kg de pommes ? », "how much are 2 kg of apples"), not a request."""
    folded = f" {fold(text)} "
    asked = "?" in text or _QUESTION_RE.search(folded) is not None
    return asked and _REQUEST_RE.search(folded) is None


def states_stock(text: str) -> bool:
    """« j'ai encore 12 pots de miel », "sold out": what a vendor says of its stock, never a purchase ("could I have
    2 kg of apples" asks for them)."""
    folded = f" {fold(text)} "
    return _STOCK_RE.search(folded) is not None and _REQUEST_RE.search(folded) is None


def undoes(text: str) -> bool:
    """« enlève 2 kg de pommes », « pas 2 baguettes », "cancel the 3 beers": taking out or refusing, not asking."""
    return _UNDO_RE.search(f" {fold(text)} ") is not None


def mentions_order(text: str) -> bool:
    """« ma commande », "my order": about an order placed, not a basket request."""
    return _ORDER_RE.search(f" {fold(text)} ") is not None


def plain_basket_request(turn: Turn) -> list[Wanted] | None:
    """The items of a message that plainly asks for goods, whatever the NLU made of it: a quantity said in words and
    a product the catalog names clearly, no question, nothing taken out or refused (« je prends 3 baguettes » read as
    not understood, "a tub of whole cream" read as clearing the basket). None for anything else, which keeps its own
    meaning (a search without a quantity stays a search, « enlève 2 kg de pommes » a removal)."""
    text = message_text(turn)
    if not text or not read_quantities(text, turn.lang) or asks_question(text) or undoes(text):
        return None
    wanted = read_request(turn, text)
    return wanted if any(w.quantity is not None and w.product is not None for w in wanted) else None
