"""Turning what people type (and what NLU extracted) into values the core understands.

Pure functions, no Rasa, no database: quantities in words, prices, order numbers, postal codes,
delivery choices, payment methods and time slots, in French, German, Italian and English.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from catalog.text import fold
from checkout.payment import PaymentMethod

NUMBER_WORDS = {
    # fr
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "quinze": 15,
    "vingt": 20,
    "trente": 30,
    "douzaine": 12,
    "demi": "0.5",
    "demie": "0.5",
    "zero": 0,
    "aucun": 0,
    "aucune": 0,
    # de
    "ein": 1,
    "eine": 1,
    "einen": 1,
    "eins": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "funf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
    "elf": 11,
    "zwolf": 12,
    "dutzend": 12,
    "halb": "0.5",
    "halbes": "0.5",
    "halben": "0.5",
    "null": 0,
    "keine": 0,
    "kein": 0,
    # it
    "uno": 1,
    "due": 2,
    "tre": 3,
    "quattro": 4,
    "cinque": 5,
    "sei": 6,
    "sette": 7,
    "otto": 8,
    "nove": 9,
    "dieci": 10,
    "dozzina": 12,
    "mezzo": "0.5",
    # en
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "dozen": 12,
    "half": "0.5",
    "no": 0,
    "none": 0,
}
ZERO_PHRASES = ("plus de", "plus d", "rupture", "epuise", "no more", "out of", "sold out")
ZERO_PHRASES += ("keine", "kein ", "nicht mehr", "esaurit")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def parse_quantity(text: str | None) -> Decimal | None:
    """ "2" -> 2, "1,5" -> 1.5, "1/2" -> 0.5, "deux" -> 2, "une douzaine" -> 12; None if no number."""
    if not text:
        return None
    folded = fold(text).strip()
    if any(p in f"{folded} " for p in ZERO_PHRASES):
        return Decimal(0)
    fraction = re.search(r"(\d+)\s*/\s*(\d+)", text)
    if fraction and int(fraction[2]):
        return Decimal(fraction[1]) / Decimal(fraction[2])
    if "½" in text:
        return Decimal("0.5")
    number = _NUMBER.search(text)
    if number:
        try:
            return Decimal(number[0].replace(",", "."))
        except InvalidOperation:
            return None
    words = folded.split()
    if "douzaine" in words or "dozen" in words or "dutzend" in words or "dozzina" in words:
        return Decimal(12) * Decimal(str(NUMBER_WORDS.get(words[0], 1) if words[0] not in ("une", "a", "ein") else 1))
    for word in words:
        if word in NUMBER_WORDS:
            return Decimal(str(NUMBER_WORDS[word]))
    return None


def parse_amount(text: str | None) -> Decimal | None:
    """A price as typed: "6.50", "6,50", "28.-", "CHF 14", "14 francs" -> Decimal."""
    if not text:
        return None
    match = re.search(r"\d+(?:[.,]\d{1,2})?", text.replace("'", ""))
    if not match:
        return None
    return Decimal(match[0].replace(",", ".")).quantize(Decimal("0.01"))


def parse_order_number(text: str | None, prefix: str) -> str | None:
    """ "ge-7k3q9m", "7K3Q9M", "GE 7K3Q9M" -> "GE-7K3Q9M" (the deployment's prefix)."""
    if not text:
        return None
    for match in re.finditer(r"(?:\b([A-Za-z]{2})\s?-?\s?)?\b([2-9A-HJ-NP-Za-hj-np-z]{6})\b", text):
        said_prefix, code = (match[1] or "").upper(), match[2].upper()
        # Alone, a code needs a digit ("annule" is a word); after the prefix, one of six codes has none.
        if any(c.isdigit() for c in code) or said_prefix == prefix.upper():
            return f"{prefix}-{code}"
    return None


def parse_postal_code(text: str | None) -> str | None:
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", text or "")
    return match[1] if match else None


DELIVERY_WORDS = ("livr", "domicile", "maison", "deliver", "home", "liefer", "hause", "consegn", "casa", "chez moi")
PICKUP_WORDS = ("retir", "retrait", "cherch", "pick", "collect", "abhol", "hole", "ritir", "passe prendre", "sur place")


def parse_delivery_mode(text: str | None) -> str | None:
    folded = fold(text or "")
    if any(w in folded for w in PICKUP_WORDS):
        return "pickup"
    if any(w in folded for w in DELIVERY_WORDS):
        return "delivery"
    return None


PAYMENT_WORDS = {  # checked in this order: "payer à la livraison" is on delivery, "moitié en lémans" mixed
    PaymentMethod.MIXED: ("moitie", "mix", "half", "halb", "meta", "les deux", "both", "beides", "partie"),
    PaymentMethod.ON_DELIVERY: (
        "livraison",
        "delivery",
        "lieferung",
        "consegna",
        "cash",
        "comptant",
        "bar",
        "contanti",
        "abholung",
    ),
    PaymentMethod.LEMAN: ("leman", "lemans"),
    PaymentMethod.CHF: ("chf", "franc", "carte", "card", "karte", "carta", "twint", "postfinance", "iban", "qr"),
}


def parse_payment_method(text: str | None) -> PaymentMethod | None:
    folded = f" {fold(text or '')} "
    for method, words in PAYMENT_WORDS.items():
        if any(w in folded for w in words):
            return method
    return None


CHOICE = re.compile(
    r"(?:.*\b(?:le|la|les|numero|number|nummer|nr|no|die|den|il|the)\s+)?(\d{1,2})(?:\s*(?:er|e|eme|st|nd|rd|th))?"
)


def parse_choice(text: str | None) -> int | None:
    """ "le 3", "number 2", "die 3", "#1", "3" alone -> 3 (a position in the last list shown)."""
    folded = fold(text or "").strip()
    match = CHOICE.fullmatch(folded)
    if match:
        return int(match[1])
    match = re.search(r"#(\d{1,2})\b", text or "")
    return int(match[1]) if match else None


DAY_WORDS = {
    2: ("apres demain", "apres-demain", "day after", "ubermorgen", "dopodomani"),
    1: ("demain", "tomorrow", "morgen", "domani"),
}


# A date written out: "2026-11-25", or "25.11.2026" / "25.11." / "25/11" as people in Switzerland write it.
ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
SWISS_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2})?)?(?!\d)(?!\s*(?:h|uhr)\b)", re.IGNORECASE)


def _written_date(text: str, today: date) -> tuple[date | None, str]:
    """The date written in `text` (a year left out is this one), and the text without it; (None, text) if none.
    A date that does not exist ("1999-02-30") is still a date: it just matches no offered slot."""
    match = ISO_DATE.search(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = SWISS_DATE.search(text)
        if not match or not (1 <= int(match[1]) <= 31 and 1 <= int(match[2]) <= 12):  # "um 17.30": an hour
            return None, text
        day, month = int(match[1]), int(match[2])
        year = int(match[3]) if match[3] else today.year
        year += 2000 if year < 100 else 0
    rest = text[: match.start()] + " " + text[match.end() :]
    try:
        return date(year, month, day), rest
    except ValueError:
        return date.min, rest


def parse_time_slot(text: str | None, offered: list[str], today: date) -> str | None:
    """Pick one of `offered` from free text: a day (a word like "demain", or a date) and/or an hour ("17h",
    "5pm", "um 17"). Never another day than the one written: a past or far date matches nothing."""
    if not text or not offered:
        return None
    if text.strip() in offered:
        return text.strip()
    day, text = _written_date(text, today)
    folded = fold(text)
    for offset, words in DAY_WORDS.items():
        if day is None and any(w in folded for w in words):
            day = today + timedelta(days=offset)
            break
    hour = None
    match = re.search(r"\b(\d{1,2})\s*(?:h(?:\d\d)?|uhr|[:.]\d\d|pm|am)?\b", folded)
    if match:
        hour = int(match[1])
        if "pm" in folded[match.start() : match.end() + 1] and hour < 12:
            hour += 12
    for slot in offered:
        slot_day, window = slot.split(" ", 1)
        start, end = (int(part.split(":")[0]) for part in window.split("-"))
        if day is not None and slot_day != str(day):
            continue
        if hour is not None and not start <= hour < end:
            continue
        if day is not None or hour is not None:
            return slot
    return None


# --- delivery address answers (the address itself is read by checkout.addresses.read_address) -------------

CHANGE_ADDRESS = re.compile(
    r"\b(?:chang\w*|modif\w*|corrig\w*|autre|nouvelle|andere\w*|aender\w*|neue\w*|korrig\w*|cambi\w*|modific\w*"
    r"|altro|altra|nuovo|nuova|change\w*|other|another|different|new|correct\w*|edit)\b"
    r".{0,30}\b(?:adresse|address|indirizzo|lieferadresse)\b"
    r"|\b(?:adresse|address|indirizzo|lieferadresse)\b.{0,20}\b(?:chang\w*|modif\w*|a?e?ndern\w*|cambi\w*|andere\w*)\b"
)
SKIP_WORDS = (
    "non", "pas de", "pas besoin", "passer", "sans", "aucun", "plus tard",
    "nein", "kein", "ohne", "uberspringen", "spater",
    "no", "niente", "nessuno", "salta", "senza",
    "skip", "none", "not now", "later", "without",
)  # fmt: skip
HOUSE_NUMBER = re.compile(r"(?:n[°o]?\.?\s*|nr\.?\s*|numero\s+|nummer\s+|number\s+|le\s+|au\s+)?"
                          r"([0-9]{1,4}(?:\s?(?:bis|ter)|[a-z])?)\s*\.?", re.IGNORECASE)  # fmt: skip
DELIVERY_LEAD = re.compile(
    r"^\s*(?:(?:je\s+veux\s+une\s+|ich\s+mochte\s+|i\s+want\s+|vorrei\s+la\s+)?"
    r"(?:livraison|livrer|livrez(?:-moi)?|lieferung|liefern|delivery|deliver|consegna|consegnare)"
    r"(?:\s+(?:au|alla|al|an|at|to|in|nach|à|a)\b)?(?:\s+(?:domicile|hause|home|domicilio)\b)?)[\s:,-]*",
    re.IGNORECASE,
)
NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def parse_change_address(text: str | None) -> bool:
    """ "changer l'adresse", "andere Adresse", "cambia indirizzo", "change the address"."""
    return bool(CHANGE_ADDRESS.search(fold(text or "")))


def parse_skip(text: str | None) -> bool:
    """A refusal to give something optional: « non », « pas de téléphone », "skip", "nein", "no grazie"."""
    folded = f" {fold(text or '').strip()} "
    return any(f" {word} " in folded for word in SKIP_WORDS)


def parse_house_number(text: str | None) -> str | None:
    """The house number alone, as an answer to « quel numéro ? »: "50", "12bis", "n° 7b", "le 3"."""
    match = HOUSE_NUMBER.fullmatch(fold(text or "").strip())
    return " ".join(match[1].split()) if match else None


def without_delivery_words(text: str) -> str:
    """ "livraison à domicile, Rue de Carouge 50" -> "Rue de Carouge 50": the mode said before the address."""
    return DELIVERY_LEAD.sub("", text, count=1)


def parse_person_name(text: str | None) -> str | None:
    """A recipient's name as typed (« Marie Dupont », "Dr. Hans Müller-Meier"): one to five words of letters,
    no digits, no question; None for anything else."""
    words = (text or "").strip().split()
    if not 1 <= len(words) <= 5 or "?" in (text or "") or not all(NAME_WORD.fullmatch(w) for w in words):
        return None
    return " ".join(words)


def parse_coordinate(value: str | None, bound: int) -> Decimal | None:
    """A latitude (bound 90) or longitude (bound 180) as shared: a decimal number within its range, at most 7
    decimals kept; None for anything else."""
    try:
        number = Decimal(str(value or "").strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or not -bound <= number <= bound:
        return None
    return number.quantize(Decimal("0.0000001"))


def parse_position(text: str | None) -> int | None:
    """The position in a list a sentence names: « supprime l'adresse 2 », "delete address #3", "die 2"."""
    numbers = re.findall(r"(?<![\d.,])(\d{1,2})(?![\d.,])", text or "")
    return int(numbers[-1]) if numbers else None
