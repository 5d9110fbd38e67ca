"""The product a shopper means, read from the whole sentence against the catalog's names, and a message cut into
the items of a shopping list.

How a sentence is resolved:
1. Its words are folded like the search index's; words that only say "I want it" (« ajoute », "I'd like", « bitte »,
   "in my basket") are dropped, quantities and containers (« 2 kg », « bouteilles », "loaves") are kept apart: they
   may complete a name (« caisse de 24 bières ») but never decide one alone.
2. Every name of every product, in every language, is matched word by word against the sentence with the index's
   own word similarities (exact, plural, prefix, inside a compound, typo) plus word roots (« mele » = « Mele ») and
   single-word synonyms. A name scores the words it finds, loses a little for each of its words the sentence lacks,
   and much more when its head noun is missing (« Jus de pomme » is not « pommes »). A name found whole, plurals and
   accents aside, gets a bonus, larger in the customer's language; words between brackets are alternatives
   (« Courgettes (zucchini) »), numbers and units only tip the balance.
3. A product keeps its best name; a catalog word of the sentence its name, category, labels or vendor do not
   explain costs it (« confiture de cerises » is not « Cerises »). Services step aside when goods were asked for.
4. The leader is taken without asking when it explains every catalog word said and leads clearly; otherwise only
   the plausible products (same head noun, close score) are offered.
What the names need is computed once per catalog revision, next to the search index, so a turn takes a few ms.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select

from catalog.models import Product
from catalog.services import CatalogSearch, ProductView, view_product
from catalog.taxonomy import Taxonomy, base_taxonomy, synonym_groups
from catalog.text import STOPWORDS, fold, stem, tokens
from marketplace.accounts import ApprovalStatus, Organisation
from marketplace.db import UnitOfWork

if TYPE_CHECKING:
    from catalog.search import SearchIndex

MAX_CANDIDATES = 5
RANKED = 32  # products ranked before the database says which are still offered

# --- scoring weights, in "words": a name word found is worth 1 ---------------------------------------------------
PAREN_WEIGHT = 0.8  # a word between brackets: an alternative name or a gloss
OPTIONAL_WEIGHT = 0.3  # a number or unit of the name ("(6)", "75 cl") said again
CONTEXT_WEIGHT = 0.2  # a word of the product's category, labels or vendor ("bio", "Lignon")
MISSING_COST = 0.25  # each word of the name the sentence lacks
COMPLEMENT_MISSING_COST = 0.1  # ... after a preposition (« Œufs frais de poules en plein air »)
MAX_MISSING_COST = 0.5  # a long name is not ruled out by its qualifiers (« Alpkäse Gruyère AOP 12 Monate »)
HEADLESS_COST = 1.0  # the name's head noun is not in the sentence
UNEXPLAINED_COST = 0.5  # a catalog word of the sentence this product does not explain
EXACT_BONUS = 0.5  # the whole name, in the customer's language
EXACT_BONUS_OTHER = 0.3  # the whole name, in another language
WHOLE_BONUS, WHOLE_BONUS_OTHER = 0.45, 0.25  # the whole name with a typo (« suco di mela »)
WHOLE_FLOOR = 0.65  # the least similarity of a word counted in a whole name
LANGUAGE_BONUS = 0.05  # ties go to the name in the customer's language
# A name in another language, when the product has one in the customer's that the sentence did not use: for a
# French speaker « croissant » is the « Croissant au beurre », not the "Chocolate croissant".
OTHER_LANGUAGE_COST = 0.5
CATEGORY_ONLY_SCORE = 0.3  # a product only its category names (plus CONTEXT_WEIGHT for that word)
PACK_BONUS = 0.6  # the sentence names this product's pack size ("miel de fleurs 250 g")
CLEAR_LEAD = 0.5  # how far the leader must be ahead to be taken without asking
PLAUSIBLE_GAP = 0.75  # candidates offered in a question are at most this far behind the leader
MIN_SCORE = -1.0  # below, a product only shares a weak or secondary word with the sentence: never offered
ALONE_FLOOR = -0.5  # a product without its head noun is taken alone only if the rest of its name was found
EXACT = 0.95  # similarity from which a word counts as the name's own word (plurals, roots, accents aside)
ROOT_SIMILARITY = 0.96
COMPOUND_START_SIMILARITY = 0.7  # « Honig » opening « Honiglebkuchen » names what it is made with, not what it is
SYNONYM_SIMILARITY = 0.9
MAX_WORDS = 40  # words beyond this are ignored (each word is one bit of a mask)

LANGS = ("fr", "de", "it", "en")
CORE, PAREN, OPTIONAL = 0, 1, 2


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- the shopper's words ------------------------------------------------------------------------------------------
# Multi-word fillers whose words may be product words on their own ("Butter plait bread", "Wicker basket").
_FILLER_PHRASES = re.compile(
    r"\b(?:s il (?:vous|te) plait|sil vous plait|s v p"
    r"|(?:in|into|to|in to) (?:my|the|our) (?:shopping )?(?:basket|cart|trolley)"
    r"|(?:dans|a|au|en) (?:mon|le|notre) panier|au panier"
    r"|(?:in|zu) (?:den|dem|meinen|meinem|unseren) (?:warenkorb|korb|einkaufskorb)|zum warenkorb"
    r"|(?:nel|al|nel mio|al mio) (?:carrello|cestino))\b"
)
# Words that only say "I want this" (fr, de, it, en), checked folded and before stemming: « mets » goes, « Met » stays.
FILLER_WORDS = word_set(
    """
    ajoute ajouter ajoutez ajoutes rajoute rajouter rajoutez mets mettez mettre moi me m nous prends prend prendre
    prendrai prendrais prenez donne donnez donner aimerais aimerions voudrions faut besoin ai achete acheter achetez
    commande commander commandez merci svp stp bonjour salut aussi egalement encore puis ensuite oui peux pouvez
    pourriez pourrais bien ca cela s
    bitte fuge fugen fugt hinzu dazu noch gib geben gebt sie mir uns nehme nehmen brauche brauchen bestelle bestellen
    kaufen kaufe danke hallo auch dann lege leg tu tue packe warenkorb einkaufskorb ja mach
    aggiungi aggiungere aggiunga metti mettere mi ci prendo prendi prenda dammi dia vorremmo voglio serve servono
    grazie favore piacere anche poi ciao compro comprare carrello si
    add put please like d ll take get give me us buy order thanks thank also then hi hello cart could can would will
    let yes just
    """
)
NUMBER_WORDS = word_set(
    """
    zero deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt trente quarante
    cinquante cent demi demie moitie quart douzaine douzaines quelques plusieurs
    eins zwei drei vier funf sechs sieben acht neun zehn elf zwolf zwanzig dreissig hundert halb halbe halber halbes
    halben viertel dutzend paar einige anderthalb eineinhalb
    uno due tre quattro cinque sei sette otto nove dieci undici dodici venti trenta cento mezzo mezza dozzina paio
    qualche alcuni alcune
    one two three four five six seven eight nine ten eleven twelve twenty thirty hundred half quarter dozen couple
    pair few several
    """
)
UNIT_WORDS = word_set(
    """
    g gr grs gramme grammes gram grams gramm gramms grammi grammo kg kgs kilo kilos kilogramme kilogrammes kilogramm
    kilogram kilograms chilo chili chilogrammo chilogrammi livre livres pfund pound pounds lb lbs l lt litre litres
    liter litro litri dl cl ml centilitre centilitres millilitre millilitres
    h heure heures hour hours std stunde stunden ora ore min minute minutes jour jours day days tag tage giorno giorni
    """
)
# Containers mean pieces or packs in a sentence, but are a product's own word in a name (« Caisse de 24 bières »).
CONTAINER_WORDS = word_set(
    """
    piece pieces stuck stueck stk pezzo pezzi pc pcs pot pots bocal bocaux glas glaser jar jars vasetto vasetti
    barattolo barattoli bouteille bouteilles flasche flaschen bottle bottles bottiglia bottiglie paquet paquets
    packung packungen pack packs packet packets pacco pacchi pacchetto pacchetti confezione confezioni sachet sachets
    beutel sacchetto sacchetti boite boites dose dosen cans tin tins scatola scatole lattina lattine canette canettes
    barquette barquettes schale schalen schachtel tray trays vaschetta vaschette botte bottes bund bunde bunch bunches
    mazzo mazzi tranche tranches scheibe scheiben slice slices fetta fette loaf loaves laib laibe pagnotta pagnotte
    miche miches tablette tablettes tafel tafeln bar bars tavoletta tavolette portion portions portionen porzione
    porzioni caisse caisses harass harasse crate crates cassa casse carton cartons karton kartons sac sacs sack sacke
    bag bags brique briques unite unites einheit unit units box boxes schachteln
    """
)
# Prepositions and articles the shared stop-word list keeps; they separate a name's head from its complements.
_MINOR = word_set(
    "in im aus al alla alle allo ai all agli dello degli da dal dalla dai nel nella nei at from by on to zu auf bei "
    "pro inkl into ins am"
)
PREPOSITIONS = _MINOR | word_set(
    "de d du des au aux a en pour avec sans sur par chez et of with for without and mit vom von fur ohne zum zur nach "
    "und di del della dei delle con senza per e ed"
)
# What may open an item of a list: a number, a number word or an article (« du pain », "a cauliflower").
DETERMINERS = word_set(
    "un une du des de d la le les l quelques ein eine einen einem etwas das die den der uno una del della dei delle "
    "degli il lo gli i a an some the"
)
HALF_WORDS = word_set("demi demie mezzo mezza half halb halbe halbes halben")  # « un kilo et demi »
CONJUNCTIONS = word_set("et and und e ed sowie puis then dann poi")
_SEPARATOR_KEYS = CONJUNCTIONS | {",", ";", "&", "+"}
_QUANTITY_WORDS = NUMBER_WORDS | UNIT_WORDS

_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
_PAREN = re.compile(r"\(([^)]*)\)")
_MAY_JOIN = re.compile(r"[,;&+\d]|\b(?:et|and|und|e|ed|sowie|puis|then|dann|poi)\b", re.IGNORECASE)
_SPLIT_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|\w+|[,;&+]")
_BULLET = re.compile(r"^\s*(?:[-*•·–—>]+|\d{1,2}[.)](?=\s))\s*")
_PACK_SAID = re.compile(
    r"(?<![\d.,])(\d+(?:[.,]\d+)?)[\s-]*(kg|kilos?|g|gr|grammes?|gramm|grams?|grammi|l|litres?|liters?|litri|cl|ml)\b"
)
_GRAMS_OR_ML = {"kg": 1000, "kilo": 1000, "kilos": 1000, "l": 1000, "litre": 1000, "litres": 1000, "liter": 1000}
_GRAMS_OR_ML |= {"liters": 1000, "litri": 1000, "cl": 10}
_MEASURE_GRAMS_OR_ML = {"g": 1, "kg": 1000, "ml": 1, "cl": 10, "l": 1000}  # `SaidQuantity.measure` in g or ml


def _is_quantity_word(word: str) -> bool:
    return word in _QUANTITY_WORDS or (word[:1].isdigit() and bool(_NUMBER.match(word)))


def _is_measure_word(word: str) -> bool:
    return _is_quantity_word(word) or word in CONTAINER_WORDS


def _is_noise(word: str) -> bool:
    return word in STOPWORDS or word in _MINOR or word in FILLER_WORDS


@lru_cache(maxsize=65536)
def root(token: str) -> str:
    """A token without its German plural and Italian/French final vowel, so « mele » meets « Mela », « Karotten »
    meets « Karotte », « zucchini » meets « Zucchine » and « bougies » (stemmed "bougy", as "berries" is "berry")
    meets « Bougie »."""
    if len(token) >= 5 and token.endswith("y"):
        token = token[:-1] + "ie"
    if len(token) >= 6 and token.endswith("en"):
        token = token[:-2]
    elif len(token) >= 6 and token.endswith(("ln", "rn")):
        token = token[:-1]
    if len(token) >= 4 and token[-1] in "aeio":
        token = token[:-1]
    return token


@dataclass(frozen=True)
class _Word:
    token: str  # folded and stemmed
    measure: bool  # a number, unit or container: may complete a name, never decides one


def sentence_words(text: str) -> list[_Word]:
    """The words of a shopper's sentence that may name a product, in order, without the words that only ask."""
    folded = _FILLER_PHRASES.sub(" ", fold(text))
    words = []
    for word in folded.split():
        if _is_noise(word):
            continue
        words.append(_Word(stem(word), _is_measure_word(word)))
    return words[:MAX_WORDS]


# --- the catalog's names, precomputed per catalog revision --------------------------------------------------------


@dataclass(frozen=True)
class _NameParts:
    core: tuple[str, ...]  # the name's own words
    complements: tuple[bool, ...]  # per core word: after a preposition (« de poules en plein air »), cheaper to miss
    paren: tuple[str, ...]  # words between brackets: alternatives, never missed
    optional: tuple[str, ...]  # numbers and units: tip the balance, never missed
    heads: frozenset[str]  # words that make the name what it is
    heads_needed: int  # how many of `heads` must be found (all of a phrase such as « pomme de terre »)
    # One slot per word, own words first: its token, kind, whether it is a head, its cost when missing.
    slot_tokens: tuple[str, ...]
    slot_kinds: tuple[int, ...]
    slot_heads: tuple[bool, ...]
    slot_costs: tuple[float, ...]
    missing_cost: float  # what the name loses when the sentence holds none of its own words


@lru_cache(maxsize=1)
def _head_phrases() -> dict[str, tuple[tuple[str, ...], ...]]:
    """First word -> multi-word synonym phrases (« pomme de terre »): opening a name, they are its head as a whole."""
    found = {tuple(tokens(phrase)) for group in synonym_groups() for phrase in group}
    by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for phrase in sorted((p for p in found if len(p) > 1), key=len, reverse=True):
        by_first[phrase[0]].append(phrase)
    return {first: tuple(phrases) for first, phrases in by_first.items()}


# Qualifiers that close English names ("Mild Gruyère PDO"): the noun before them is the head.
_QUALIFIERS = word_set("pdo pgi aop igp dop aoc")
_SKIPPED = STOPWORDS | _MINOR
_SEGMENT_ENDS = PREPOSITIONS - CONJUNCTIONS


@lru_cache(maxsize=65536)
def _written_words(written: str) -> tuple[str, ...]:
    return (written.lower(),) if written.isascii() and written.isalpha() else tuple(fold(written).split())


def name_parts(name: str, style: str = "") -> _NameParts:
    """A name cut into the words matched against sentences. Its head is the first or last word before a preposition
    or comma, except in a name only used in English (`style` "en"), where it is the last common noun ("Apple juice"
    is juice, "Ground coffee Ethiopia" is coffee), or in German ("de"), where a hyphenated compound is its last
    part (« Apfel-Quitten-Saft » is Saft)."""
    bracketed = "(" in name
    core: list[str] = []
    complements: list[bool] = []
    optional: list[str] = []
    segment: list[str] = []  # head candidates: the words before the first preposition or comma
    common_nouns: list[str] = []  # English: lower-case words of the segment after its first word
    segment_open = True
    for n, written in enumerate((_PAREN.sub(" ", name) if bracketed else name).split()):
        parts = _written_words(written)
        for i, word in enumerate(parts):
            if segment_open and segment and word in _SEGMENT_ENDS:
                segment_open = False
            if word in _SKIPPED:
                continue
            token = stem(word)
            if _is_quantity_word(word):
                optional.append(token)
                continue
            core.append(token)
            complements.append(not segment_open)
            if segment_open and not (style == "de" and i < len(parts) - 1):
                segment.append(token)
                if n > 0 and written[:1].islower() and word not in _QUALIFIERS:
                    common_nouns.append(token)
        if written.endswith(",") and segment:
            segment_open = False
    if not core:  # a name made of numbers only: they are its words
        core, optional, complements = optional, [], [False] * len(optional)
    paren: list[str] = []
    for inside in _PAREN.findall(name) if bracketed else ():
        for word in fold(inside).split():
            if word not in _SKIPPED:
                (optional if _is_measure_word(word) else paren).append(stem(word))
    nouns = [w for w in segment if w not in _QUALIFIERS] or segment
    heads: frozenset[str] = frozenset({nouns[0], nouns[-1]} if nouns else core[:1])
    if style == "en" and common_nouns:
        heads = frozenset(common_nouns[-1:])
    needed = 1
    for phrase in _head_phrases().get(core[0], ()) if core else ():
        if tuple(core[: len(phrase)]) == phrase:
            heads, needed = frozenset(phrase), len(phrase)
            break
    costs = [COMPLEMENT_MISSING_COST if c else MISSING_COST for c in complements]
    others = len(paren) + len(optional)
    return _NameParts(
        tuple(core),
        tuple(complements),
        tuple(paren),
        tuple(optional),
        heads,
        needed,
        slot_tokens=(*core, *paren, *optional),
        slot_kinds=(CORE,) * len(core) + (PAREN,) * len(paren) + (OPTIONAL,) * len(optional),
        slot_heads=tuple(t in heads for t in core) + (False,) * others,
        slot_costs=(*costs, *(0.0,) * others),
        missing_cost=sum(costs),
    )


def _separator_keys(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each word or separator of a line, as the list splitter compares them with names: folded
    and stemmed words, conjunctions and separators as themselves, articles and prepositions left out."""
    keys = []
    for match in _SPLIT_TOKEN.finditer(text):
        raw = match.group()
        if raw in ",;&+":
            keys.append((raw, match.start(), match.end()))
            continue
        for word in fold(raw).split() or [raw]:
            if word in CONJUNCTIONS:
                keys.append((word, match.start(), match.end()))
            elif not (word in STOPWORDS or word in _MINOR):
                keys.append((stem(word), match.start(), match.end()))
    return keys


@dataclass(frozen=True)
class NamedProduct:
    """What the name table needs to know of a product: its names and what explains them, not its price or stock."""

    id: int
    names: dict[str, str]
    category: str
    unit: str
    labels: Sequence[str]
    vendor_id: int
    vendor_name: str


class NameTable:
    """Every product name of one catalog revision, cut into words for matching against a sentence."""

    def __init__(self, rows: Iterable[NamedProduct], taxonomy: Taxonomy | None = None) -> None:
        # The deployment's categories, labels and synonyms (settings.taxonomy); the shipped base by default.
        taxonomy = taxonomy or base_taxonomy()
        items = sorted(rows, key=lambda r: r.id)
        self.ids = np.array([r.id for r in items], dtype=np.int64)
        self.vendor_ids = np.array([r.vendor_id for r in items], dtype=np.int64)
        service_categories = {slug for slug, term in taxonomy.categories.items() if term.kind == "service"}
        self.services = np.array([r.category in service_categories or r.unit == "hour" for r in items], dtype=bool)
        self.pack_sizes = [_pack_size(r.unit) for r in items]

        # Flat lists of plain values: millions of small tuples would keep the garbage collector busy.
        entry_product: list[int] = []
        entry_langs: list[int] = []
        entry_core: list[int] = []
        entry_cost: list[float] = []
        entry_paren: list[int] = []
        entry_heads: list[int] = []
        slot_tokens: list[str] = []  # slots are numbered entry by entry
        slot_kinds: list[int] = []
        slot_heads: list[bool] = []
        slot_costs: list[float] = []
        slot_entry: list[int] = []
        by_category: dict[str, list[int]] = defaultdict(list)
        by_vendor: dict[str, list[int]] = defaultdict(list)
        by_label: dict[str, list[int]] = defaultdict(list)
        joined: set[tuple[str, ...]] = set()
        styles = {1 << LANGS.index("en"): "en", 1 << LANGS.index("de"): "de"}
        for pos, row in enumerate(items):
            langs: dict[str, int] = {}
            for lang, name in row.names.items():
                if name:
                    langs[name] = langs.get(name, 0) | (1 << LANGS.index(lang) if lang in LANGS else 0)
            for name, bits in langs.items():
                parts = name_parts(name, styles.get(bits, ""))
                slot_entry += [len(entry_product)] * len(parts.slot_tokens)
                slot_tokens += parts.slot_tokens
                slot_kinds += parts.slot_kinds
                slot_heads += parts.slot_heads
                slot_costs += parts.slot_costs
                entry_product.append(pos)
                entry_langs.append(bits)
                entry_core.append(len(parts.core))
                entry_cost.append(parts.missing_cost)
                entry_paren.append(len(parts.paren))
                entry_heads.append(parts.heads_needed)
                if _MAY_JOIN.search(name):
                    for written in {name, _PAREN.sub(" ", name)}:  # with or without « (2 h) »
                        keys = tuple(key for key, _, _ in _separator_keys(written))
                        if any(key in _SEPARATOR_KEYS or _NUMBER.match(key) for key in keys):
                            joined.add(keys)
            by_category[row.category].append(pos)
            by_vendor[row.vendor_name].append(pos)
            for label in row.labels:
                by_label[label].append(pos)

        self.entry_product = np.array(entry_product, dtype=np.int32)
        self.entry_langs = np.array(entry_langs, dtype=np.int8)
        self.entry_core = np.array(entry_core, dtype=np.int16)
        self.entry_cost = np.array(entry_cost, dtype=np.float32)
        self.entry_paren = np.array(entry_paren, dtype=np.int16)
        self.entry_heads = np.array(entry_heads, dtype=np.int16)
        self.product_langs = np.zeros(len(items), dtype=np.int8)
        np.bitwise_or.at(self.product_langs, self.entry_product, self.entry_langs)
        token_ids: dict[str, int] = {}
        slot_token = np.fromiter(
            (token_ids.setdefault(t, len(token_ids)) for t in slot_tokens), dtype=np.int32, count=len(slot_tokens)
        )
        self.slot_kind = np.array(slot_kinds, dtype=np.int8)
        self.slot_head = np.array(slot_heads, dtype=bool)
        self.slot_cost = np.array(slot_costs, dtype=np.float32)
        self.slot_entry = np.array(slot_entry, dtype=np.int32)
        # Posting lists are slices of one array of slot numbers sorted by token: no array per token to build.
        by_token = np.argsort(slot_token, kind="stable").astype(np.int32)
        bounds = np.searchsorted(slot_token[by_token], np.arange(len(token_ids) + 1))
        self.postings = {token: by_token[bounds[i] : bounds[i + 1]] for token, i in token_ids.items()}
        self.category_members = _token_groups((_category_tokens(c, taxonomy), p) for c, p in by_category.items())
        self.context = _token_groups(
            [(_category_tokens(c, taxonomy), p) for c, p in by_category.items()]
            + [(_vendor_tokens(v), p) for v, p in by_vendor.items()]
            + [(_label_tokens(label, taxonomy), p) for label, p in by_label.items()]
        )
        token_langs = np.zeros(len(token_ids), dtype=np.int8)
        np.bitwise_or.at(token_langs, slot_token, self.entry_langs[self.slot_entry])
        named = np.zeros(len(token_ids), dtype=bool)
        named[slot_token[self.slot_kind != OPTIONAL]] = True
        self.name_tokens = frozenset(token for token, i in token_ids.items() if named[i])
        german = 1 << LANGS.index("de")
        self.german_tokens = frozenset(token for token, i in token_ids.items() if token_langs[i] & german)
        roots: dict[str, set[str]] = defaultdict(set)
        for token in (*self.postings, *self.context):
            roots[root(token)].add(token)
        self.roots = {r: tuple(sorted(ts)) for r, ts in roots.items()}
        synonyms: dict[str, set[str]] = defaultdict(set)
        for group in taxonomy.synonym_groups:
            words = {t[0] for t in (tokens(phrase) for phrase in group) if len(t) == 1}
            for word in words:
                synonyms[word] |= words - {word}
        self.synonyms = {w: tuple(sorted(s)) for w, s in synonyms.items()}
        self.joined_names = self._index_joined(joined)
        self._lock = threading.Lock()
        self._word_cache: dict[tuple[str, bool], tuple[tuple[str, float], ...]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def _index_joined(names: set[tuple[str, ...]]) -> dict[str, tuple[tuple[int, tuple[str, ...]], ...]]:
        """Separator -> (its offset, the name's keys) for names holding a separator or a number (« Jus de pomme et
        coing », "Alpine Gruyère PDO, 12 months"): the list splitter does not cut through them."""
        by_key: dict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
        for keys in names:
            for offset, key in enumerate(keys):
                if key in _SEPARATOR_KEYS or _NUMBER.match(key):
                    by_key[key].append((offset, keys))
        return {key: tuple(sorted(found)) for key, found in by_key.items()}

    # --- matching ----------------------------------------------------------------------------------------------

    def word_matches(self, index: SearchIndex, token: str, measure: bool) -> tuple[tuple[str, float], ...]:
        """Name and context tokens a sentence token may mean, with a similarity. A catalog word means itself, its
        root, its synonyms and the compounds it ends (« Butter » in « Vorzugsbutter »), not every longer word it
        begins (« vin » is not « vinaigre »); other words go through the index's fuzzy matching. Numbers, units and
        containers only match themselves."""
        key = (token, measure)
        cached = self._word_cache.get(key)
        if cached is not None:
            return cached
        found: dict[str, float] = {}
        if token in self.postings or token in self.context:
            found[token] = 1.0
        if not measure:
            known = token in self.name_tokens
            for match, similarity in index.token_matches(token):
                if not (match in self.postings or match in self.context):
                    continue
                compound = len(match) >= len(token) + 3
                if compound and match.startswith(token):
                    similarity = min(similarity, COMPOUND_START_SIMILARITY)
                if not known or (compound and match.endswith(token) and match in self.german_tokens):
                    found[match] = max(found.get(match, 0.0), similarity)
            for match in self.roots.get(root(token), ()):
                found[match] = max(found.get(match, 0.0), ROOT_SIMILARITY)
            for match in self.synonyms.get(token, ()):
                if match in self.postings:
                    found[match] = max(found.get(match, 0.0), SYNONYM_SIMILARITY)
        result = tuple(sorted(found.items()))
        with self._lock:
            if len(self._word_cache) > 16384:
                self._word_cache.clear()
            self._word_cache[key] = result
        return result

    def rank(
        self,
        index: SearchIndex,
        words: list[_Word],
        lang: str,
        *,
        vendor_id: int | None = None,
        goods_wanted: bool = False,
    ) -> list[_Ranked]:
        """Products whose names meet the sentence's words, best first."""
        terms = self._terms(words)
        content_mask = sum(1 << i for i, w in enumerate(words) if not w.measure)
        if not terms or not content_mask:
            return []
        slot_chunks, sim_chunks, bit_chunks = [], [], []
        context_bits = np.zeros(len(self.ids), dtype=np.int64)
        category_bits = np.zeros(len(self.ids), dtype=np.int64)
        known_mask = 0
        for token, measure, bits in terms:
            for match, similarity in self.word_matches(index, token, measure):
                slots = self.postings.get(match)
                if slots is not None:
                    slot_chunks.append(slots)
                    sim_chunks.append(np.full(len(slots), similarity, dtype=np.float32))
                    bit_chunks.append(np.full(len(slots), bits, dtype=np.int64))
                    if not measure and similarity >= EXACT and match in self.name_tokens:
                        known_mask |= bits
                if measure or similarity < EXACT:
                    continue
                if (products := self.context.get(match)) is not None:
                    context_bits[products] |= bits
                if (products := self.category_members.get(match)) is not None:
                    category_bits[products] |= bits
        known_mask &= content_mask
        products, score, name_bits, head_ok = self._best_names(slot_chunks, sim_chunks, bit_chunks, lang, words)
        # « un fromage »: the word names a category, so its products are candidates even when their names (Gruyère,
        # Tomme) do not hold it; the one cheese named « Fromage … » does not win alone.
        named = np.zeros(len(self.ids), dtype=bool)
        named[products] = True
        by_category = np.flatnonzero(((category_bits & content_mask) != 0) & ~named).astype(np.int32)
        if len(by_category):
            products = np.concatenate([products, by_category])
            score = np.concatenate([score, np.full(len(by_category), CATEGORY_ONLY_SCORE, dtype=score.dtype)])
            name_bits = np.concatenate([name_bits, np.zeros(len(by_category), dtype=np.int64)])
            head_ok = np.concatenate([head_ok, np.ones(len(by_category), dtype=bool)])
        if not len(products):
            return []

        context = context_bits[products]
        explained = name_bits | context
        score = score + CONTEXT_WEIGHT * _popcount(context & ~name_bits & content_mask, len(words))
        unexplained = _popcount(known_mask & ~explained, len(words))
        score = score - UNEXPLAINED_COST * unexplained

        keep = score >= MIN_SCORE
        if vendor_id is not None:
            keep &= self.vendor_ids[products] == vendor_id
        if goods_wanted:
            goods = keep & ~self.services[products]
            if goods.any():
                keep = goods
        products, score, head_ok, unexplained = products[keep], score[keep], head_ok[keep], unexplained[keep]
        score = np.round(score, 4)
        shown = np.arange(len(products))
        if len(shown) > RANKED:
            # Keep every product tied with the weakest kept one, so ties are broken by catalog order, not chance.
            floor = score[np.argpartition(-score, RANKED)[:RANKED]].min()
            shown = np.flatnonzero(score >= floor)
        order = shown[np.lexsort((products[shown], -score[shown]))][:RANKED]
        return [
            _Ranked(
                int(products[i]), int(self.ids[products[i]]), float(score[i]), bool(head_ok[i]), int(unexplained[i])
            )
            for i in order
        ]

    def _best_names(
        self,
        slot_chunks: list[np.ndarray],
        sim_chunks: list[np.ndarray],
        bit_chunks: list[np.ndarray],
        lang: str,
        words: list[_Word],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(product positions, score, word bits, head found) of the products whose names hold a product word of the
        sentence, each with its best name."""
        if not slot_chunks:
            return np.array([], np.int32), np.array([], np.float32), np.array([], np.int64), np.array([], bool)
        content_mask = sum(1 << i for i, w in enumerate(words) if not w.measure)
        entries, score, name_bits, head_ok = self._score_entries(slot_chunks, sim_chunks, bit_chunks, lang, len(words))
        named = (name_bits & content_mask) != 0
        entries, score, name_bits, head_ok = entries[named], score[named], name_bits[named], head_ok[named]
        if not len(entries):
            return np.array([], np.int32), np.array([], np.float32), np.array([], np.int64), np.array([], bool)
        # A product is as good as its best name (its names are numbered together, so entries come grouped).
        products = self.entry_product[entries]
        starts = np.flatnonzero(np.r_[True, products[1:] != products[:-1]])
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(products)]))
        top = np.maximum.reduceat(score, starts) if len(starts) else score
        best = np.flatnonzero(score >= top[group])
        best = best[np.r_[True, group[best][1:] != group[best][:-1]]]  # the first of tied names
        return products[best], score[best], name_bits[best], head_ok[best]

    def _terms(self, words: list[_Word]) -> list[tuple[str, bool, int]]:
        """(token, is a measure, word bits): each word, and adjacent words joined when the catalog has the compound
        (« Raclette Käse » = « Raclettekäse »)."""
        terms = [(w.token, w.measure, 1 << i) for i, w in enumerate(words)]
        for i in range(len(words) - 1):
            a, b = words[i], words[i + 1]
            joined = a.token + b.token
            if not a.measure and not b.measure and joined in self.postings:
                terms.append((joined, False, (1 << i) | (1 << (i + 1))))
        return terms

    def _score_entries(
        self,
        slot_chunks: list[np.ndarray],
        sim_chunks: list[np.ndarray],
        bit_chunks: list[np.ndarray],
        lang: str,
        width: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        slots = np.concatenate(slot_chunks)
        sims = np.concatenate(sim_chunks)
        bits = np.concatenate(bit_chunks)
        # Each chunk is sorted, so a stable sort only merges a few runs.
        order = np.argsort(slots, kind="stable")
        slots, sims, bits = slots[order], sims[order], bits[order]
        starts = np.flatnonzero(np.r_[True, slots[1:] != slots[:-1]])
        slots, slot_bits = slots[starts], np.bitwise_or.reduceat(bits, starts)
        sims = np.maximum.reduceat(sims, starts)  # the best similarity of each slot
        # Slots of one entry are numbered together, so sorted slots are grouped by entry.
        entry_of = self.slot_entry[slots]
        kind = self.slot_kind[slots]
        starts = np.flatnonzero(np.r_[True, entry_of[1:] != entry_of[:-1]])
        entries = entry_of[starts]
        is_core, is_paren, exact_word = kind == CORE, kind == PAREN, sims >= EXACT
        weight = np.where(is_core, sims, np.where(is_paren, PAREN_WEIGHT * sims, OPTIONAL_WEIGHT * sims))
        columns = np.stack(
            [
                weight,
                is_core & (sims >= WHOLE_FLOOR),
                is_core & exact_word,
                is_paren,
                is_paren & exact_word,
                self.slot_head[slots],
                self.slot_cost[slots],
            ],
            axis=1,
            dtype=np.float32,
        )
        sums = np.add.reduceat(columns, starts).T
        found, core_close, core_exact, paren_found, paren_exact, heads_found, cost_found = sums
        entry_bits = np.bitwise_or.reduceat(slot_bits, starts)

        n_core, n_paren = self.entry_core[entries], self.entry_paren[entries]
        exact = ((n_core > 0) & (core_exact == n_core)) | ((n_paren > 0) & (paren_exact == n_paren))
        # A name of several words all found, some with a typo (« suco di mela »); one word found by a typo could be
        # any short name (« tere » is not « Séré »).
        whole = exact | ((n_core > 1) & (core_close == n_core))
        head_ok = (heads_found >= self.entry_heads[entries]) | ((n_paren > 0) & (paren_found == n_paren))
        lang_bit = 1 << LANGS.index(lang) if lang in LANGS else 0
        in_lang = (self.entry_langs[entries] & lang_bit) != 0
        has_lang = (self.product_langs[self.entry_product[entries]] & lang_bit) != 0
        # A word found twice in one name (« chaîne (chaîne comprise) ») counts once.
        found = np.minimum(found, _popcount(entry_bits, width))
        score = (
            found
            - np.minimum(self.entry_cost[entries] - cost_found, MAX_MISSING_COST)
            - HEADLESS_COST * ~head_ok
            + np.where(exact, np.where(in_lang, EXACT_BONUS, EXACT_BONUS_OTHER), 0.0)
            + np.where(whole & ~exact, np.where(in_lang, WHOLE_BONUS, WHOLE_BONUS_OTHER), 0.0)
            + LANGUAGE_BONUS * in_lang
            - OTHER_LANGUAGE_COST * (has_lang & ~in_lang)
        )
        return entries, score, entry_bits, head_ok


@dataclass(frozen=True)
class _Ranked:
    position: int
    product_id: int
    score: float
    head_ok: bool
    unexplained: int


def _popcount(bits: np.ndarray, width: int) -> np.ndarray:
    count = np.zeros(len(bits), dtype=np.int16)
    for i in range(min(width, 63)):
        count += ((bits >> i) & 1).astype(np.int16)
    return count


def _token_groups(groups: Iterable[tuple[frozenset[str], list[int]]]) -> dict[str, np.ndarray]:
    """Token -> sorted product positions, from (tokens, positions) groups such as a category and its products."""
    found: dict[str, list[list[int]]] = defaultdict(list)
    for group_tokens, positions in groups:
        for token in group_tokens:
            found[token].append(positions)
    return {token: np.unique(np.concatenate(lists).astype(np.int32)) for token, lists in found.items()}


# The words of a product's category, labels and vendor explain a sentence's words; they name no product.
@lru_cache(maxsize=64)
def _category_tokens(category: str, taxonomy: Taxonomy) -> frozenset[str]:
    term = taxonomy.categories.get(category)
    return frozenset(t for name in (term.names.values() if term else [category]) for t in tokens(name))


@lru_cache(maxsize=64)
def _label_tokens(slug: str, taxonomy: Taxonomy) -> frozenset[str]:
    label = taxonomy.labels.get(slug)
    # « GRTA (Genève Région – Terre Avenir) » explains "GRTA", not « terre ».
    return frozenset(t for name in (label.names.values() if label else [slug]) for t in tokens(_PAREN.sub(" ", name)))


def _vendor_tokens(name: str) -> frozenset[str]:
    return frozenset(tokens(name))


def _pack_size(unit: str) -> Decimal | None:
    """Grams or millilitres in one pack ("250 g" -> 250, "75 cl" -> 750); None for kg, l, piece, hour."""
    size, _, measure = unit.partition(" ")
    if not measure:
        return None
    try:
        return Decimal(size) * _GRAMS_OR_ML.get(measure, 1)
    except InvalidOperation:
        return None


def _sizes_said(text: str) -> set[Decimal]:
    """Grams or millilitres said, each a pack size the shopper may mean: « 250 g », « 250-g-Gläser », and a weight in
    words for one pack (« mezzo chilo »)."""
    sizes = set()
    for amount, measure in _PACK_SAID.findall(text.lower()):
        try:
            sizes.add(Decimal(amount.replace(",", ".")) * _GRAMS_OR_ML.get(measure, 1))
        except InvalidOperation:
            continue
    for said in _read_quantities(text, None):
        if said.container is None and said.measure in _MEASURE_GRAMS_OR_ML:
            sizes.add(said.amount * _MEASURE_GRAMS_OR_ML[said.measure])
    return sizes


# One table per search index: the index is rebuilt when the catalog revision moves, and the table with it.
_tables: weakref.WeakKeyDictionary[CatalogSearch, tuple[SearchIndex, NameTable]] = weakref.WeakKeyDictionary()
_tables_lock = threading.Lock()


def name_table(uow: UnitOfWork, search: CatalogSearch) -> NameTable:
    """The name table of the current catalog revision, e.g. for `split_shopping_list(..., catalog=...)`."""
    return _index_and_names(uow, search)[1]


def _index_and_names(uow: UnitOfWork, search: CatalogSearch) -> tuple[SearchIndex, NameTable]:
    """The search index and the name table of the current catalog revision (built on first use after a change)."""
    index = search.index(uow)
    with _tables_lock:
        cached = _tables.get(search)
        if cached is not None and cached[0] is index:
            return cached
    rows = uow.session.execute(
        select(
            Product.id,
            Product.names,
            Product.category,
            Product.unit,
            Product.labels,
            Product.vendor_id,
            Organisation.name,
        )
        .join(Product.vendor)
        .where(Product.available.is_(True), Product.category != "")
    )
    table = NameTable((NamedProduct(*row) for row in rows), search.taxonomy)
    with _tables_lock:
        _tables[search] = (index, table)
    return index, table


# --- resolving ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    product: ProductView | None  # the one product meant, added without asking
    # When product is None: only plausible candidates, best first (may be empty).
    candidates: tuple[ProductView, ...] = ()


def resolve_in_sentence(
    uow: UnitOfWork,
    search: CatalogSearch,
    text: str,
    lang: str,
    *,
    entity: str | None = None,
    goods_wanted: bool = False,
    vendor: str | None = None,
) -> Resolution:
    """The product `text` asks for, read from the whole sentence (the NLU's `entity` only adds its words), or the
    plausible products to ask about. `goods_wanted`: a quantity of goods was asked for, so services step aside.
    `vendor`: a vendor's slug, to look among its products only."""
    words = sentence_words(text)
    if entity:
        said = {w.token for w in words}
        words += [w for w in sentence_words(entity) if w.token not in said][: MAX_WORDS - len(words)]
    if not any(not w.measure for w in words):
        return Resolution(None)
    vendor_id = None
    if vendor:
        vendor_id = uow.session.scalar(select(Organisation.id).where(Organisation.slug == vendor))
        if vendor_id is None:
            return Resolution(None)
    index, table = _index_and_names(uow, search)
    ranked = table.rank(index, words, lang, vendor_id=vendor_id, goods_wanted=goods_wanted)
    if not ranked:
        return Resolution(None)
    ranked = _prefer_pack_said(table, ranked, text)[: MAX_CANDIDATES * 2 + 2]
    views = _offered(uow, [r.product_id for r in ranked], lang, search.taxonomy)
    ranked = [r for r in ranked if r.product_id in views]
    if not ranked:
        return Resolution(None)
    top = ranked[0]
    # "sourdough": the one product the words name, even without its head noun.
    alone = len(ranked) == 1 and top.score >= ALONE_FLOOR
    lead = round(top.score - ranked[1].score, 3) if len(ranked) > 1 else float("inf")
    if (top.head_ok or alone) and top.unexplained == 0 and lead >= CLEAR_LEAD:
        return Resolution(views[top.product_id])
    plausible = [
        r
        for r in ranked
        if round(top.score - r.score, 3) <= PLAUSIBLE_GAP and (r.head_ok or not top.head_ok or r.score >= top.score)
    ]
    return Resolution(None, tuple(views[r.product_id] for r in plausible[:MAX_CANDIDATES]))


def _prefer_pack_said(table: NameTable, ranked: list[_Ranked], text: str) -> list[_Ranked]:
    """« miel de fleurs 250 g »: of products close to the leader, the one sold in the pack size said (« 500 g de
    beurre » stays the butter, even if a plaited loaf weighs 500 g)."""
    sizes = _sizes_said(text)
    if not sizes:
        return ranked
    close = ranked[0].score - CLEAR_LEAD
    bumped = [
        _Ranked(r.position, r.product_id, r.score + PACK_BONUS, r.head_ok, r.unexplained)
        if r.score > close and r.head_ok and table.pack_sizes[r.position] in sizes
        else r
        for r in ranked
    ]
    return sorted(bumped, key=lambda r: (-round(r.score, 4), r.product_id))


def _offered(
    uow: UnitOfWork, product_ids: list[int], lang: str, taxonomy: Taxonomy | None = None
) -> dict[int, ProductView]:
    """Views of the products still offered: their vendor is approved (the index does not know approval)."""
    rows = uow.session.scalars(
        select(Product)
        .join(Product.vendor)
        .where(Product.id.in_(product_ids), Organisation.status == ApprovalStatus.APPROVED)
    )
    return {p.id: view_product(p, lang, taxonomy) for p in rows}


# --- shopping lists -----------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def split_shopping_list(text: str, lang: str | None = None, *, catalog: NameTable | None = None) -> list[str]:
    """The items of a message that may be a shopping list, each as the shopper wrote it: one per line (bullets
    dropped), then cut at commas and semicolons, and at « et » / "and" / « und » / « e » where a new item begins (a
    quantity or an article follows, or one led the item, or, with the `catalog`, both sides hold catalog words).
    A catalog name holding a separator (« Jus de pomme et coing », "Gruyère PDO, 12 months") is never cut, nor a
    quantity (« un kilo et demi »); a piece without a product word (« 800 g », « s'il vous plaît ») stays with its
    neighbour. Where `catalog.quantities.read_quantities` exists, a new quantity also starts an item (« 2 baguettes
    6 croissants »). `catalog` comes from `name_table(uow, search)`."""
    items: list[str] = []
    for line in re.split(r"[\r\n]+", text):
        line = _BULLET.sub("", line)
        if line.strip():
            items += _split_line(line, lang, catalog)
    return items


def _split_line(line: str, lang: str | None, catalog: NameTable | None) -> list[str]:
    keys = _separator_keys(line)
    names = _names_in_line(keys, catalog)
    quantities = [(q.start, q.end) for q in _read_quantities(line, lang)]
    starts = {start for start, _ in quantities}
    kept = names + quantities  # spans never cut inside
    separators = [
        (key, start, end)
        for key, start, end in keys
        if key in _SEPARATOR_KEYS and not any(a < start and end < b for a, b in kept)
    ]
    spans: list[tuple[int, int]] = []
    piece_start = 0
    for n, (key, start, end) in enumerate(separators):
        next_start = separators[n + 1][1] if n + 1 < len(separators) else len(line)
        left, right = (piece_start, start), (end, next_start)
        if key in CONJUNCTIONS and not _new_item(line, left, right, starts, catalog):
            continue
        spans.append(left)
        piece_start = end
    spans.append((piece_start, len(line)))
    spans = [cut for span in spans for cut in _cut_at_quantities(line, span, starts, kept)]
    return [_trimmed(line[a:b]) for a, b in _merge_wordless(line, spans) if _trimmed(line[a:b])]


_EDGES = re.compile(r"^[\s,;&+.\-]+|[\s,;&+.\-]+$")


def _trimmed(piece: str) -> str:
    return _EDGES.sub("", piece)


def _new_item(
    line: str, left: tuple[int, int], right: tuple[int, int], starts: set[int], catalog: NameTable | None
) -> bool:
    """Whether a conjunction opens a new item: « 2 baguettes et 6 croissants », "… and a cauliflower", « … et du
    pain »; not « un kilo et demi », nor « sel et poivre » unless the catalog knows both words apart."""
    right_words = _leading_words(line, right)
    if not right_words:
        return False
    first = fold(right_words[0][0])
    second = fold(right_words[1][0]) if len(right_words) > 1 else ""
    if first in HALF_WORDS or (first in ("a", "une", "ein", "eine") and second in HALF_WORDS):
        # « un kilo et demi » ends a quantity, but « e mezzo chilo di formaggio » / "and half a kilo of
        # leeks" / « und ein halbes Kilo Käse » open an item: a measure follows the half.
        after = [fold(w[0]) for w in right_words[(1 if first in HALF_WORDS else 2) :][:2]] + ["", ""]
        measure = after[1] if after[0] in ("a", "un", "ein") else after[0]
        if measure not in UNIT_WORDS:
            return False
    if not _has_product_word(line[right[0] : right[1]]):
        return False
    if _opens_item(line, right, starts) or _opens_item(line, left, starts):
        return True
    if catalog is not None:
        return _holds_catalog_word(line[left[0] : left[1]], catalog) and _holds_catalog_word(
            line[right[0] : right[1]], catalog
        )
    return False


def _leading_words(line: str, span: tuple[int, int]) -> list[re.Match[str]]:
    """The words of a piece, without the fillers that open it (« aussi », "please")."""
    words = list(_WORD.finditer(line, span[0], span[1]))
    while words and fold(words[0].group()).strip() in FILLER_WORDS:
        words.pop(0)
    return words


def _opens_item(line: str, span: tuple[int, int], starts: set[int]) -> bool:
    """The piece begins with a quantity or an article: « 6 croissants », "a cauliflower", « du pain »."""
    words = _leading_words(line, span)
    if not words:
        return False
    first = fold(words[0].group()).strip()
    return bool(_NUMBER.match(first)) or first in NUMBER_WORDS or first in DETERMINERS or words[0].start() in starts


def _has_product_word(text: str) -> bool:
    return any(not w.measure for w in sentence_words(text))


def _holds_catalog_word(text: str, catalog: NameTable) -> bool:
    return any(not w.measure and w.token in catalog.name_tokens for w in sentence_words(text))


def _cut_at_quantities(
    line: str, span: tuple[int, int], starts: set[int], kept: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """« 2 baguettes 6 croissants »: a quantity after the product words of an item that began with one starts the
    next item, unless it belongs to a name (« caisse de 24 bières ») or follows a preposition."""
    pieces = [span]
    for start in sorted(s for s in starts if span[0] < s < span[1]):
        head = pieces[-1]
        before = line[head[0] : start]
        words = before.split()
        if not words or fold(words[-1]).strip() in PREPOSITIONS | DETERMINERS:
            continue
        if any(a < start < b for a, b in kept):
            continue
        opened = _opens_item(line, (head[0], start), starts)
        if opened and _has_product_word(before) and _has_product_word(line[start : head[1]]):
            pieces[-1] = (head[0], start)
            pieces.append((start, head[1]))
    return pieces


def _names_in_line(keys: list[tuple[str, int, int]], catalog: NameTable | None) -> list[tuple[int, int]]:
    """Character spans of catalog names holding a separator or a number, written out in the line."""
    if catalog is None:
        return []
    line_keys = [k for k, _, _ in keys]
    spans = []
    for i, key in enumerate(line_keys):
        for offset, name in catalog.joined_names.get(key, ()):
            first = i - offset
            if first >= 0 and tuple(line_keys[first : first + len(name)]) == name:
                spans.append((keys[first][1], keys[first + len(name) - 1][2]))
    return spans


def _read_quantities(line: str, lang: str | None) -> list:  # type: ignore[type-arg]
    """Quantity expressions of the line from `catalog.quantities.read_quantities`, once that module exists."""
    try:
        from catalog.quantities import read_quantities  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return []
    try:
        return list(read_quantities(line, lang))
    except Exception:  # a reader's failure must not lose the shopper's list: cut by words instead
        return []


def _merge_wordless(line: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A piece with no product word (« 800 g », « ajoute ») joins the piece before it, or the one after; pieces stay
    as written (the line's own text between their ends)."""
    merged: list[tuple[int, int]] = []
    pending: int | None = None  # start of word-less pieces waiting for the next one
    for start, end in spans:
        if not _has_product_word(line[start:end]):
            if merged:
                merged[-1] = (merged[-1][0], end)
            elif pending is None:
                pending = start
            continue
        merged.append((start if pending is None else pending, end))
        pending = None
    if pending is not None:
        merged.append((pending, len(line)))
    return merged
