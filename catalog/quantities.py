"""Quantities as shoppers say them, read from the words themselves, and the same amount in a product's sale unit.

« 800 g », « un kilo et demi », « mezzo chilo », "two loaves", « 2 Flaschen », « une douzaine »: deterministic, in
French, German, Italian and English, without NLU and without a database. `to_sale_units` then turns what was said
into what the catalog sells: 800 g of cheese sold by the kg is 0.8; 300 g of a 500 g pot is a question, not a guess.

A number is read as a quantity only where a shopper would put one: digits anywhere but in codes, dates, prices,
percentages, durations and parentheses (« Chocolat noir 70 % », « Œufs bio (6) », « Gruyère 12 mois »); number words
that are also ordinary words (« un », "a", « sei ») only before a unit, a container or a product word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from functools import lru_cache

from catalog.taxonomy import parse_unit
from catalog.text import STOPWORDS, fold

LANGS = ("fr", "de", "it", "en")
HALF = Decimal("0.5")


def _wordset(words: str) -> set[str]:
    return set(words.split())


@dataclass(frozen=True)
class SaidQuantity:
    """A quantity as said. `amount` is in `measure` when there is one (« un kilo et demi » is 1.5 kg, « une livre »
    500 g, « 2 pots de 500 g » 1000 g in pots), else a count of pieces or `container`s (« une douzaine » is 12).
    `start`/`end` span the whole expression in the original text, with a linking « de »/"of"/« di » after a unit."""

    amount: Decimal
    measure: str | None  # "g", "kg", "ml", "cl", "l", or "h" (« 2 heures de réparation »); None: a count
    container: str | None  # the container word folded and singular: "pot", "bouteille", "flasche", "loaf"
    start: int
    end: int


@dataclass(frozen=True)
class SaleQuantity:
    units: Decimal | None  # how many sale units; None: we cannot tell, ask
    choices: tuple[Decimal, ...] = ()  # when units is None: the nearest sensible answers (empty: ask how many)


# --- Vocabulary (folded) -------------------------------------------------------------------------------------------

_NUMBERS: dict[str, dict[str, int]] = {
    "fr": {
        "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
        "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
        "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "septante": 70, "huitante": 80,
        "octante": 80, "nonante": 90, "cent": 100, "cents": 100, "mille": 1000,
    },
    "de": {
        "ein": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1, "eins": 1, "zwei": 2, "zwo": 2, "drei": 3, "vier": 4,
        "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwolf": 12, "dreizehn": 13,
        "vierzehn": 14, "funfzehn": 15, "sechzehn": 16, "siebzehn": 17, "achtzehn": 18, "neunzehn": 19,
        "zwanzig": 20, "dreissig": 30, "vierzig": 40, "funfzig": 50, "sechzig": 60, "siebzig": 70, "achtzig": 80,
        "neunzig": 90, "hundert": 100, "tausend": 1000,
    },
    "it": {
        "un": 1, "uno": 1, "una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8,
        "nove": 9, "dieci": 10, "undici": 11, "dodici": 12, "tredici": 13, "quattordici": 14, "quindici": 15,
        "sedici": 16, "diciassette": 17, "diciotto": 18, "diciannove": 19, "venti": 20, "trenta": 30,
        "quaranta": 40, "cinquanta": 50, "sessanta": 60, "settanta": 70, "ottanta": 80, "novanta": 90, "cento": 100,
        "mille": 1000, "mila": 1000,
    },
    "en": {
        "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
        "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
        "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
        "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    },
}  # fmt: skip
# German and Italian write numbers as one word (« vierundzwanzig », « ventotto »): their pieces, elided forms too.
_PIECES: dict[str, dict[str, int | str]] = {
    "de": {**{k: v for k, v in _NUMBERS["de"].items() if k not in ("eine", "einen", "einem", "einer")}, "und": "und"},
    "it": {
        **_NUMBERS["it"],
        **{"vent": 20, "trent": 30, "quarant": 40, "cinquant": 50, "sessant": 60, "settant": 70, "ottant": 80},
        **{"novant": 90, "cent": 100},
    },
}
# Words that are numbers and ordinary words at once: read only before a unit, a container or a product word.
_ARTICLES = {"fr": {"un", "une"}, "de": {"ein", "eine", "einen", "einem", "einer"}, "it": {"un", "uno", "una"}}
_ARTICLES["en"] = {"a", "an", "one"}
_SEI = "sei"  # it: "six", and "you are" (« sei bravo »): a number only after a request word or in a list
_ALSO_WORDS = {"neuf", "acht", "elf", "otto"}  # « un pain neuf », « Acht geben »: numbers only before a product word
_HALVES = {"demi", "demie", "half", "halb", "halbe", "halbes", "halber", "halben", "mezzo", "mezza", "mezz"}
_DOZENS = {"douzaine": 12, "douzaines": 12, "dutzend": 12, "dutzende": 12, "dozzina": 12, "dozzine": 12}
_DOZENS |= {"dozen": 12, "dozens": 12, "couple": 2, "paio": 2, "sixpack": 6, "sixpacks": 6}
_JOINERS = {"et", "and", "e", "und"}  # « un kilo et demi », "one and a half", « un chilo e mezzo »
_LINKS = {"de", "d", "of", "di"}  # « 800 g de », « deux kilos d' », "a kilo of", « mezzo chilo di »
_TIMES = {"x", "×", "*"}  # "2 x 500 g", "2x baguette", "baguette x3"

_POUND = Decimal("453.59237")
_MEASURES: dict[str, tuple[Decimal, str]] = {}
for _words, _factor, _measure in (
    ("g gr grs gramme grammes gram grams gramm gramme grammi grammo", 1, "g"),
    ("kg kgs kilo kilos kilogramme kilogrammes kilogram kilograms kilogramm chilo chili chilogrammo chilogrammi", 1,
     "kg"),
    ("livre livres pfund", 500, "g"),  # the Swiss and French pound, the German Pfund: 500 g
    ("etto etti", 100, "g"),  # it: « tre etti di prosciutto »
    ("lb lbs pound pounds", _POUND, "g"),
    ("ml millilitre millilitres milliliter milliliters millilitro millilitri", 1, "ml"),
    ("cl centilitre centilitres centiliter centiliters centilitro centilitri", 1, "cl"),
    ("dl decilitre decilitres deciliter deciliters decilitro decilitri", 10, "cl"),  # « 3 dl de crème »
    ("l lt ltr litre litres liter liters litro litri", 1, "l"),
    ("h hr hrs heure heures hour hours stunde stunden std ora ore", 1, "h"),
):  # fmt: skip
    _MEASURES |= dict.fromkeys(_words.split(), (Decimal(_factor), _measure))

_CONTAINERS: dict[str, str] = {}
for _lemma, _forms in {
    # fr
    "pot": "pots", "bouteille": "bouteilles", "paquet": "paquets", "bocal": "bocaux", "barquette": "barquettes",
    "sachet": "sachets", "boite": "boites", "brique": "briques", "canette": "canettes cannette cannettes",
    "flacon": "flacons", "tranche": "tranches", "botte": "bottes", "pack": "packs", "sac": "sacs",
    "tablette": "tablettes", "piece": "pieces", "unite": "unites", "portion": "portions", "part": "parts",
    "morceau": "morceaux", "miche": "miches",
    # de
    "flasche": "flaschen", "glas": "glaser", "packung": "packungen", "packchen": "", "paket": "pakete",
    "dose": "dosen", "becher": "", "schale": "schalen", "beutel": "", "tute": "tuten", "stuck": "stk",
    "tafel": "tafeln", "laib": "laibe", "bund": "bunde", "scheibe": "scheiben", "sack": "sacke",
    "schachtel": "schachteln",
    # it
    "bottiglia": "bottiglie", "vasetto": "vasetti", "barattolo": "barattoli", "pacco": "pacchi",
    "pacchetto": "pacchetti", "confezione": "confezioni", "scatola": "scatole", "sacchetto": "sacchetti",
    "vaschetta": "vaschette", "lattina": "lattine", "pezzo": "pezzi", "fetta": "fette", "mazzo": "mazzi",
    "pagnotta": "pagnotte", "tavoletta": "tavolette", "busta": "buste", "porzione": "porzioni",
    # en
    "jar": "jars", "bottle": "bottles", "packet": "packets", "package": "packages", "bag": "bags",
    "box": "boxes", "tub": "tubs", "tin": "tins", "can": "cans", "carton": "cartons", "tray": "trays",
    "punnet": "punnets", "loaf": "loaves", "pc": "pcs", "slice": "slices", "bunch": "bunches", "bar": "bars",
    "unit": "units",
}.items():  # fmt: skip
    _CONTAINERS |= dict.fromkeys([_lemma, *_forms.split()], _lemma)
# Nouns of packs that often begin a product's name (« Caisse de 24 bières », "Crate of 24 beers"): not read as a
# container, but the number after them is the pack's content, not a quantity.
_PACK_NOUNS = set(_CONTAINERS) | {"caisse", "caisses", "coffret", "coffrets", "kiste", "kisten", "kasten", "cassa"}
_PACK_NOUNS |= {"casse", "cassetta", "cassette", "crate", "crates", "case", "cases", "lot", "set", "assortiment"}
_PACK_NOUNS |= {"harass", "harasse", "harasses"}  # the Swiss crate
_PACK_COMPOUNDS = ("set", "box", "kiste", "packung", "karton", "harass")  # « Probierset 6 Genfer Biere »

# After a number: it is a duration, a price, a head count or a percentage, not something to buy.
_NOT_GOODS_AFTER = _wordset(
    "mois jour jours an ans annee annees semaine semaines minute minutes min seconde secondes"
    " month months day days year years week weeks night nights"
    " monat monate monaten tag tage tagen jahr jahre jahren woche wochen minuten nacht"
    " mese mesi giorno giorni anno anni settimana settimane minuto minuti notte notti"
    " uhr chf fr frs franc francs franken franchi franco euro euros eur leman lemans rappen centime centimes cts ct"
    " personne personnes pers person personen persona persone people persons"
    " pourcent prozent percent percento fois mal volte volta times"
)
_NOT_GOODS_BEFORE = {"chf", "fr", "frs", "eur", "euro", "euros", "leman", "lemans", "prix", "price", "preis", "prezzo"}
# Before a lone number at the end: a choice in a list (« le 3 », "number 2"), not a quantity.
_CHOICE_WORDS = {"le", "la", "l", "numero", "number", "nummer", "nr", "no", "n", "die", "den", "der", "il", "lo", "the"}
_TIME_WORDS = {"à", "at", "um", "vers", "gegen", "alle", "verso", "avant", "apres", "before", "after", "bis", "entro"}
_NOT_GOODS_MARKS = set("%°€$£:#+@")
# Words that cannot be the thing bought after « un », "a", « ein », « sei » (« un peu », "a bit", « sei bravo »).
_FUNCTION_WORDS = STOPWORDS | _wordset(
    # fr
    "peu moment instant fois autre autres question probleme conseil erreur rien commande panier livraison paiement"
    " seul seule tas certain certaine jour semaine mois an annee merci plus moins coup est sont ce cet cette ces ca"
    " cela y en ne pas moi toi lui elle nous eux leur leurs son sa ses ton ta tes notre votre nos vos qui que quel"
    " quelle dans chez sur sous comme si tout tous toute toutes meme encore aussi tres trop bien"
    # de
    " bisschen paar moment mal wenig andere anderes anderer anderen frage problem fehler bestellung warenkorb"
    " lieferung zahlung tag woche monat jahr nichts bitte danke so solche solcher weiteres weitere mehr weniger es"
    " ist sind sie er wir ihr du mir dir uns euch mein meine dein deine sein seine unser nicht noch auch sehr zu im"
    " in auf an am bei nach aus was wie wo wann warum welche welcher welches dies diese dieser jetzt nur schon kann"
    " will habe haben hat bin"
    # it
    " po momento attimo volta altro altra altri altre domanda problema errore ordine carrello consegna pagamento"
    " giorno settimana mese anno nulla niente grazie tipo sacco bel bella bello bravo brava bravi brave sicuro sicura"
    " pronto pronta qui qua li la gia ancora proprio sempre mai molto troppo tanto gentile tu io lui lei noi voi loro"
    " mi ti si ci vi ne non che chi come dove quando perche ma se sono sei ho hai ha su da tra fra al alla allo ai"
    " agli alle nel nella questo questa quello quella stato stata ok davvero certo certa forte grande felice veloce"
    " triste dolce libero libera matto matta stanco stanca"
    # en
    " bit lot few little moment minute time while question problem error order basket delivery payment day week"
    " month year thing nothing other another more less kind sort type look try way favour favor chance sec second"
    " it this that these those is are was be been am not so very too also just now here there what which who how"
    " when where why me you he she we they him her us them your his its our their at in on to from by as if but"
    " can could would will should please thanks thank ok okay"
)
# Before « un », "one": « l'un », "the one", "this one" are not quantities.
_NOT_COUNT_BEFORE = {"l", "the", "this", "that", "which", "each", "every", "any", "no", "another", "other", "some"}
# « sei »: six is followed by a plural (« sei uova », « sei birre », « sei croissant »), "you are" by a singular
# adjective (« sei bravo », « sei stanca ») or comes after a subject or a question word (« tu sei », « dove sei »).
_SEI_NOT_BEFORE = _wordset("tu ci non dove come chi se che quando perche ma gia ora li qui ne lei lui")
_SINGULAR_ENDINGS = ("o", "a", "ile", "ente", "ante", "ale", "ace", "ice")
_IRREGULAR_PLURALS = {"uova", "paia"}
_FR_VERB_A = {"il", "elle", "on", "y", "qui", "ca", "ce", "cela", "ils", "elles"}  # « il y a », « elle a »

_TOKEN = re.compile(
    r"(?P<num>[0-9]{1,3}(?:'[0-9]{3})+(?![0-9])|[0-9]+(?:[.,][0-9]+)?)"
    r"|(?P<frac>[½¼¾⅓⅔])"
    r"|(?P<word>(?:[^\W\d_]|[\u0300-\u036f])+)"
    r"|(?P<mark>\S)"
)
_VULGAR = {"½": Decimal("0.5"), "¼": Decimal("0.25"), "¾": Decimal("0.75")}
_VULGAR |= {"⅓": Decimal(1) / 3, "⅔": Decimal(2) / 3}
_MAX_DIGITS = 6  # longer numbers are codes, phone numbers, IBANs


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "frac", "word", "mark"
    text: str
    start: int
    end: int
    low: str  # lower-case as typed: « à » stays « à »
    key: str  # folded: "Gläser" -> "glaser"


@dataclass(frozen=True)
class _Number:
    value: Decimal
    strength: str  # "digits", "word", "article", "sei", "half"
    end: int  # index of the token after the number


# --- Public functions ----------------------------------------------------------------------------------------------


def read_quantities(text: str, lang: str | None = None) -> list[SaidQuantity]:
    """Every quantity said in `text`, in order: « 2 baguettes et 6 croissants » gives two."""
    return _Reader(text, lang).read()


def read_quantity(text: str, lang: str | None = None) -> SaidQuantity | None:
    """The first quantity said in `text`, or None."""
    found = read_quantities(text, lang)
    return found[0] if found else None


def said_quantity(amount: Decimal, unit_word: str | None = None) -> SaidQuantity:
    """A quantity given as a number and a unit word apart (NLU entities: "800" and "grammes")."""
    key = fold(unit_word or "").replace(" ", "")
    if key in _MEASURES:
        factor, measure = _MEASURES[key]
        return SaidQuantity(amount * factor, measure, None, 0, 0)
    return SaidQuantity(amount, None, _CONTAINERS.get(key), 0, 0)


_BASE = {"g": (Decimal(1), "g"), "kg": (Decimal(1000), "g"), "ml": (Decimal(1), "ml"), "cl": (Decimal(10), "ml")}
_BASE["l"] = (Decimal(1000), "ml")


def to_sale_units(said: SaidQuantity | None, product_unit: str, pieces: int | None = None) -> SaleQuantity:
    """`said` in the product's sale units: 800 g of a product sold by the kg is 0.8, 1 kg of 250 g jars is 4.

    Packs take whole packs only: an amount that does not divide (« 300 g » of a 500 g pot) is a question with the
    nearest whole counts. A count of something sold whole must be whole (1.5 baguettes: 1 or 2?). A weight for a
    product sold by the piece or by volume cannot be converted: a question with no choices. Nothing said is 1.
    `pieces`: how many pieces one sale unit holds (`pieces_per_unit` of « Œufs bio (6) »): a bare count that is a
    whole number of such units counts the pieces (« une douzaine d'œufs » is 2 boxes of 6); others count units.
    """
    if said is None:
        return SaleQuantity(Decimal(1))
    bare_count = said.measure is None and said.container is None
    if pieces and pieces > 1 and bare_count and said.amount >= pieces and said.amount % pieces == 0:
        return SaleQuantity(_plain(said.amount / pieces))
    try:
        code = parse_unit(product_unit).code
    except ValueError:
        code = "piece"  # a unit we do not know is counted like pieces
    loose = code in ("kg", "l")
    if said.amount <= 0:
        return SaleQuantity(None, (Decimal(1),))
    if said.measure is None:
        return _whole(said.amount, loose)
    if said.measure == "h":
        return _whole(said.amount, False) if code == "hour" else SaleQuantity(None)
    if said.measure not in _BASE:  # built by hand with a measure we do not know
        return SaleQuantity(None)
    factor, dimension = _BASE[said.measure]
    sale = _base_size(code)
    if sale is None or sale[1] != dimension:
        return SaleQuantity(None)
    units = said.amount * factor / sale[0]
    return SaleQuantity(_plain(units)) if loose else _whole(units, False)


_PIECES_IN_NAME = re.compile(r"\((\d{1,3})\s*(?:[^\W\d_]+\.?)?\)")


def pieces_per_unit(name: str) -> int | None:
    """The pieces one sale unit holds when its name says so in brackets: « Œufs bio (6) » 6, « Freilandeier (10
    Stück) » 10; None otherwise (« Chocolat noir 70 % », « Gruyère 12 mois »)."""
    for found in _PIECES_IN_NAME.finditer(name):
        word = fold(found[0][len(found[1]) + 1 : -1]).strip().rstrip(".")
        if int(found[1]) > 1 and word not in _MEASURES:  # « (33 cl) » is a size, not a count
            return int(found[1])
    return None


def _base_size(code: str) -> tuple[Decimal, str] | None:
    """The size of one sale unit in grams or millilitres: "kg" -> 1000 g, "75 cl" -> 750 ml; None for pieces."""
    if code in _BASE:
        return _BASE[code]
    size, _, measure = code.partition(" ")
    if measure not in _BASE:
        return None
    factor, dimension = _BASE[measure]
    return Decimal(size) * factor, dimension


def _whole(units: Decimal, loose: bool) -> SaleQuantity:
    if loose or units == units.to_integral_value():
        return SaleQuantity(_plain(units))
    low, high = units.to_integral_value(ROUND_FLOOR), units.to_integral_value(ROUND_CEILING)
    return SaleQuantity(None, tuple(_plain(c) for c in dict.fromkeys((low, high)) if c >= 1))


def _plain(value: Decimal) -> Decimal:
    """0.800 -> 0.8 and 4.0 -> 4, never 1E+1."""
    return Decimal(format(value.normalize(), "f"))


# --- Numbers made of words -----------------------------------------------------------------------------------------


def _combine(parts: list[int | str]) -> Decimal | None:
    """The value of number pieces in the order said, or None if they do not make one number.
    [20, 4] -> 24 (« vingt-quatre »), [4, "und", 20] -> 24, [2, 100, 50] -> 250, [4, 20] -> 80 (« quatre-vingts »)."""
    total, current, last, joined = 0, 0, 0, False
    for part in parts:
        if part == "und":  # German: units, « und », tens
            if not 0 < last < 10 or joined:
                return None
            joined = True
            continue
        if not isinstance(part, int):
            return None
        if part == 100:
            if last >= 100:
                return None
            current, last = (current or 1) * 100, 100
            continue
        if part == 1000:
            if last == 1000:
                return None
            total, current, last = total + (current or 1) * 1000, 0, 1000
            continue
        if last == 0:
            pass
        elif joined:
            if not (20 <= part <= 90 and part % 10 == 0):
                return None
            joined = False
        elif last == 4 and part == 20:  # quatre-vingts
            current, last = current + 76, 80
            continue
        elif last >= 100:
            if part >= 100:
                return None
        elif not (last % 10 == 0 and (part < 10 or (last in (60, 80) and part < 20))):
            return None
        current, last = current + part, part
    return None if joined else Decimal(total + current)


@lru_cache(maxsize=4096)
def _split(word: str, lang: str) -> tuple[int | str, ...] | None:
    """« zweihundertfünfzig » -> (2, 100, 50), « ventotto » -> (20, 8); None if the word is not made of numbers."""
    if not word:
        return ()
    table = _PIECES[lang]
    for size in range(min(len(word), 12), 1, -1):
        head = word[:size]
        if head in table:
            rest = _split(word[size:], lang)
            if rest is not None:
                return (table[head], *rest)
    return None


def _word_parts(key: str, langs: tuple[str, ...]) -> list[int | str] | Decimal | None:
    """The number pieces of one word, or a Decimal for German halves (« anderthalb », « zweieinhalb »)."""
    for lang in langs:
        if key in _NUMBERS[lang]:
            return [_NUMBERS[lang][key]]
    if "de" in langs:
        if key == "anderthalb":
            return Decimal("1.5")
        if key.endswith("einhalb") and len(key) > len("einhalb"):
            whole = _word_parts(key[: -len("einhalb")], ("de",))
            value = _combine(whole) if isinstance(whole, list) else None
            return value + HALF if value is not None else None
    for lang in ("de", "it"):
        if lang in langs and len(key) > 5:
            parts = _split(key, lang)
            if parts and _combine(list(parts)) is not None:
                return list(parts)
    return None


# --- The reader ----------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, text: str, lang: str | None) -> None:
        self.text = text
        self.langs = (lang,) if lang in LANGS else LANGS
        self.tokens = [
            _Token(m.lastgroup or "mark", m[0], m.start(), m.end(), m[0].lower(), fold(m[0]).replace(" ", ""))
            for m in _TOKEN.finditer(text)
        ]
        self.words = sum(token.kind != "mark" for token in self.tokens)
        self.depth: list[int] = []  # parenthesis depth of each token: « Œufs bio (6) »
        depth = 0
        for token in self.tokens:
            depth = max(0, depth - (token.text in ")]"))
            self.depth.append(depth)
            depth += token.text in "(["

    def read(self) -> list[SaidQuantity]:
        found, i = [], 0
        while i < len(self.tokens):
            read = self._quantity_at(i)
            if read is None:
                i += 1
                continue
            quantity, i = read
            found.append(quantity)
        return found

    # Token helpers.

    def _tok(self, i: int) -> _Token | None:
        return self.tokens[i] if 0 <= i < len(self.tokens) else None

    def _key(self, i: int) -> str:
        token = self._tok(i)
        return token.key if token is not None and token.kind == "word" else ""

    def _glued(self, i: int, j: int) -> bool:
        a, b = self._tok(i), self._tok(j)
        return a is not None and b is not None and a.end == b.start

    def _is_mark(self, i: int, marks: str) -> bool:
        token = self._tok(i)
        return token is not None and token.kind == "mark" and token.text in marks

    def _is_times(self, i: int) -> bool:
        token = self._tok(i)
        return token is not None and token.kind in ("word", "mark") and token.low in _TIMES

    def _skip_glue(self, i: int) -> int:
        """Past a hyphen or apostrophe joining two words: « demi-kilo », « mezz'ora », « d'oignons »."""
        return i + 1 if self._is_mark(i, "-'’") and self._glued(i - 1, i) else i

    def _is_article(self, i: int) -> bool:
        token = self._tok(i)
        if token is None or token.kind != "word":
            return False
        # Compare as typed: « à » folds to "a" but is no article.
        return any(token.low in _ARTICLES[lang] for lang in self.langs)

    # Numbers.

    def _number(self, i: int) -> _Number | None:
        half = self._half_prefix(i)
        if half is not None:
            return half
        token = self._tok(i)
        if token is None:
            return None
        if token.kind == "frac":
            return _Number(_VULGAR[token.text], "digits", i + 1)
        if token.kind == "num":
            return self._digits(i)
        if token.kind == "word":
            return self._words(i)
        return None

    def _digits(self, i: int) -> _Number | None:
        text = self.tokens[i].text.replace("'", "")
        if len(re.split(r"[.,]", text)[0]) > _MAX_DIGITS:
            return None
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
            return None
        j = i + 1
        fraction = self._fraction(i)
        if fraction is not None:  # « 1/2 kg »
            return _Number(fraction[0], "digits", fraction[1])
        if self._is_mark(j, "/"):  # a date or a code: « 12/05 »
            return None
        if value == value.to_integral_value():  # « 1 1/2 kg », « 1½ kg »
            token = self._tok(j)
            if token is not None and token.kind == "frac":
                return _Number(value + _VULGAR[token.text], "digits", j + 1)
            fraction = self._fraction(j)
            if fraction is not None:
                return _Number(value + fraction[0], "digits", fraction[1])
        return _Number(value, "digits", j)

    def _fraction(self, i: int) -> tuple[Decimal, int] | None:
        """ "1/2", "3/4" at token i: (value, index after)."""
        top, bar, bottom = self._tok(i), self._tok(i + 1), self._tok(i + 2)
        if not (top and bar and bottom and top.kind == bottom.kind == "num" and bar.text == "/"):
            return None
        if not (top.text.isdigit() and bottom.text.isdigit() and 0 < int(top.text) < int(bottom.text) <= 10):
            return None
        return Decimal(top.text) / Decimal(bottom.text), i + 3

    def _words(self, i: int) -> _Number | None:
        first = self._word_parts(i)
        if first is None:
            return None
        if isinstance(first, Decimal):  # « anderthalb »
            return _Number(first, "word", i + 1)
        parts, j, count = first, i + 1, 1
        while True:  # « vingt-quatre », « vingt et un », "one hundred and twenty", "twenty four"
            k = self._skip_glue(j) if self._is_mark(j, "-") else j
            if self._key(k) in ("et", "and"):
                k += 1
            following = self._word_parts(k)
            if not isinstance(following, list) or _combine([*parts, *following]) is None:
                break
            if self._key(k - 1) == "et" and self._key(k) not in ("un", "une", "onze"):
                break
            if self._key(k - 1) == "and" and parts[-1] not in (100, 1000):
                break
            parts, j, count = [*parts, *following], k + 1, count + 1
        value = _combine(parts)
        if value is None:
            return None
        if count == 1 and self._is_article(i):
            return _Number(value, "article", j)
        if count == 1 and self._key(i) == _SEI and "it" in self.langs:
            return _Number(value, "sei", j)
        return _Number(value, "word", j)

    def _word_parts(self, i: int) -> list[int | str] | Decimal | None:
        token = self._tok(i)
        if token is None or token.kind != "word":
            return None
        if token.key == "a" and token.low != "a":  # « à »
            return None
        return _word_parts(token.key, self.langs)

    def _half_prefix(self, i: int) -> _Number | None:
        """« un demi-kilo », "half a kilo", « ein halbes Pfund », « mezzo chilo »: 0.5 of the unit that follows."""
        j = i + 1 if self._is_article(i) else i
        if self._key(j) not in _HALVES:
            return None
        j = self._skip_glue(j + 1)
        if self._key(j) in ("a", "an") and self._tok(j).low in ("a", "an"):  # "half a kilo"
            j += 1
        return _Number(HALF, "half", j)

    def _half_suffix(self, i: int) -> int | None:
        """« et demi », "and a half", « e mezzo », « und ein halbes » at token i: the index after it."""
        if self._key(i) not in _JOINERS:
            return None
        j = i + 1
        if self._is_article(j) or self._key(j) in ("a", "one"):
            j += 1
        return j + 1 if self._key(j) in _HALVES else None

    # A whole quantity.

    def _quantity_at(self, i: int) -> tuple[SaidQuantity, int] | None:
        start = i
        if self._is_times(i) and self._tok(i + 1) is not None and self.tokens[i + 1].kind == "num":
            if self._glued(i - 1, i):  # "7x3" is a code
                return None
            i += 1  # "baguette x3"
        number = self._number(i)
        if number is None:
            return None
        count, strength, j = number.value, number.strength, number.end
        if (after_half := self._half_suffix(j)) is not None and strength != "half":  # "one and a half kilos"
            count, j = count + HALF, after_half
        if self._is_times(j):  # "2 x 500 g", "2x baguette"
            other = self._digits(j + 1) if self._tok(j + 1) and self.tokens[j + 1].kind == "num" else None
            if other is not None:
                count, j = count * other.value, other.end
            elif strength == "digits" and i == start:
                j += 1
        j = self._skip_glue(j)
        dozen = _DOZENS.get(self._key(j))
        if dozen:
            count, j = count * dozen, j + 1
        measure: str | None = None
        container: str | None = None
        per = Decimal(1)
        unit = self._measure(j)
        each = self._sized_containers(j) if unit is None and not dozen else None
        if each is not None:  # "two 500 g jars": two jars of 500 g
            (per, measure, container), j = each
        elif unit is not None:
            per, measure = unit
            j += 1
            grams = self._grams_after_kilos(j) if measure == "kg" else None
            if grams is not None:  # « 2 kg 500 »: 2.5 kg
                count, j = count + grams / 1000, j + 1
            if self._key(j) in _CONTAINERS:  # "a 500 g jar"
                container, j = _CONTAINERS[self._key(j)], j + 1
        if unit is None and each is None and self._key(j) in _CONTAINERS:
            container, j = _CONTAINERS[self._key(j)], j + 1
            size = self._pack_size(j)  # « 2 pots de 500 g »
            if size is not None:
                (per, measure), j = size
        if (measure or container or dozen) and (after_half := self._half_suffix(j)) is not None:
            count, j = count + HALF, after_half  # « un kilo et demi »
        has_unit = bool(measure or container or dozen)
        if not self._is_quantity(start, i, number, j, has_unit, measure):
            return None
        end = self.tokens[j - 1].end
        if has_unit and self._key(j) in _LINKS and not self._is_number_at(j + 1):
            j += 1
            end = self.tokens[j - 1].end
            if self._is_mark(j, "'’") and self._glued(j - 1, j):  # « d'oignons »
                j, end = j + 1, self.tokens[j].end
        start_at = self.tokens[start].start
        if measure and container and self._is_article(start - 1):  # "a 500 g jar": one jar of 500 g
            start_at = self.tokens[start - 1].start
        return SaidQuantity(_plain(count * per), measure, container, start_at, end), j

    def _measure(self, i: int) -> tuple[Decimal, str] | None:
        key = self._key(i)
        if key not in _MEASURES or (key == "chili" and self.langs == ("en",)):  # chili peppers
            return None
        return _MEASURES[key]

    def _sized_containers(self, i: int) -> tuple[tuple[Decimal, str, str], int] | None:
        """ "500 g jars" after a count: (size, measure, container), index after."""
        token = self._tok(i)
        number = self._digits(i) if token is not None and token.kind == "num" else None
        if number is None:
            return None
        at = self._skip_glue(number.end)  # « drei 250-g-Gläser »
        unit, after = self._measure(at), self._skip_glue(at + 1)
        container = _CONTAINERS.get(self._key(after))
        if unit is None or container is None:
            return None
        return (number.value * unit[0], unit[1], container), after + 1

    def _grams_after_kilos(self, i: int) -> Decimal | None:
        """« 2 kg 500 »: the grams said after the kilos, when nothing else follows them."""
        token = self._tok(i)
        if token is None or token.kind != "num" or not token.text.isdigit() or len(token.text) > 3:
            return None
        after = self._tok(i + 1)
        if after is not None and after.kind in ("num", "frac"):
            return None
        if after is not None and after.kind == "word" and (self._measure(i + 1) or after.key in _CONTAINERS):
            return None
        return Decimal(token.text)

    def _pack_size(self, i: int) -> tuple[tuple[Decimal, str], int] | None:
        """ "de 500 g", "of 75 cl", « à 250 g » after a container: the size of each."""
        if self._key(i) not in (*_LINKS, "da", "a", "zu", "von"):
            return None
        j = self._skip_glue(i + 1)
        token = self._tok(j)
        number = self._digits(j) if token is not None and token.kind == "num" else None
        unit = self._measure(number.end) if number is not None else None
        if number is None or unit is None:
            return None
        return (number.value * unit[0], unit[1]), number.end + 1

    def _is_number_at(self, i: int) -> bool:
        token = self._tok(i)
        return token is not None and (token.kind in ("num", "frac") or self._word_parts(i) is not None)

    def _is_quantity(self, start: int, i: int, number: _Number, j: int, has_unit: bool, measure: str | None) -> bool:
        """Whether the number at token i (its expression from `start` to before `j`) is a quantity to buy."""
        if self.depth[i]:  # « Œufs de caille (12) », « (2 h) »
            return False
        strength, last = number.strength, number.end - 1
        before, after = self._tok(start - 1), self._tok(j)
        before_key = self._word_before(start)
        if strength == "half" and not has_unit:
            return False
        if strength == "digits":
            if not self._digits_in_place(start, i, last, has_unit):
                return False
            if number.value >= 1000 and not measure:  # a postal code, a year, an order number
                return False
            if not has_unit and self._in_number_group(start, last):  # « 079 123 45 67 »
                return False
        if before_key in _PACK_NOUNS:  # « bag-in-box 5 l »
            return False
        if not has_unit and self._after_pack_name(start):  # « Coffret découverte 6 bières »
            return False
        if before_key in _NOT_GOODS_BEFORE or self._is_mark(start - 1, "#€$£"):
            return False
        if not has_unit and before_key in (*_LINKS, "da", "mit", "von") and self._word_before(start - 1) in _PACK_NOUNS:
            return False  # « une caisse de 24 bières »: what the pack holds
        if before is not None and (before.low in _TIME_WORDS or before_key in _TIME_WORDS) and measure in (None, "h"):
            return False  # « passe à 6.50 », « um 17 », « à 17h »
        if has_unit:
            return True
        if after is not None and (after.key in _NOT_GOODS_AFTER or after.text in _NOT_GOODS_MARKS):
            return False
        if self.words == sum(t.kind != "mark" for t in self.tokens[start:j]):  # nothing else said: « 2 », « sei »
            return True
        at_end = after is None or after.kind == "mark"
        if at_end and before_key in _CHOICE_WORDS:  # « le 3 »
            return False
        if strength == "digits":
            return True
        goods_next = after is not None and after.kind == "word" and self._is_goods_word(j)
        if strength == "word":
            return goods_next or (at_end and self._key(i) not in _ALSO_WORDS)
        if not goods_next or before_key in _NOT_COUNT_BEFORE:
            return False
        if strength == "article":
            return not (self.tokens[i].low == "a" and self.langs == LANGS and before_key in _FR_VERB_A)
        # « sei »: before a plural, not « sei bravo », « tu sei forte », « dove sei »
        following = self._key(j)
        plural = following in _IRREGULAR_PLURALS or not following.endswith(_SINGULAR_ENDINGS)
        return plural and before_key not in _SEI_NOT_BEFORE

    def _digits_in_place(self, start: int, i: int, last: int, has_unit: bool) -> bool:
        """Digits that stand alone: not glued to letters or other numbers (codes « 7K3Q9M », dates, times)."""
        before, after = self._tok(start - 1), self._tok(last + 1)
        if start == i and before is not None and before.end == self.tokens[i].start:
            if before.kind in ("word", "num", "frac"):
                return False
            glued_before = self._tok(start - 2)
            if glued_before is not None and glued_before.end == before.start and glued_before.kind != "mark":
                return False  # « GE-7 », « 05.2024 »
        if after is not None and after.start == self.tokens[last].end:
            if after.kind == "word" and not has_unit and after.low not in _TIMES:
                return False  # « 2e », "3rd", "5pm"
            if after.kind == "mark" and after.text in "-.,:/'":
                beyond = self._tok(last + 2)
                if beyond is not None and beyond.start == after.end and beyond.kind == "num":
                    return False  # « 2-3 », « 17:00 »
        return True

    def _word_before(self, i: int) -> str:
        """The folded word before token i, past an elision's apostrophe (« l'un », « d'une »)."""
        if self._is_mark(i - 1, "'’") and self._glued(i - 2, i - 1):
            return self._key(i - 2)
        return self._key(i - 1)

    def _is_goods_word(self, i: int) -> bool:
        key = self._key(i)
        return bool(key) and key not in _FUNCTION_WORDS and not self._is_number_at(i) and len(key) > 1

    def _in_number_group(self, first: int, last: int) -> bool:
        """Digits next to other digits with only spaces between: a phone number or an IBAN, « 079 123 45 67 »."""
        text = self.tokens[first].text
        if len(text) > 1 and text[0] == "0" and text[1].isdigit():
            return True
        for a, b in ((first - 1, first), (last, last + 1)):
            left, right = self._tok(a), self._tok(b)
            if left is None or right is None or left.kind != "num" or right.kind != "num":
                continue
            if "\n" not in self.text[left.end : right.start]:
                return True
        return False

    def _after_pack_name(self, start: int) -> bool:
        """A count right after a pack's name: « Coffret découverte 6 », « Probierset 6 », « Harass mit 24 »."""
        one, two = self._tok(start - 1), self._tok(start - 2)
        if one is None or one.kind != "word":
            return False
        if one.key.endswith(_PACK_COMPOUNDS):
            return True
        return two is not None and two.kind == "word" and two.key in _PACK_NOUNS
