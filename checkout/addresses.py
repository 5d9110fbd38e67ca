"""A delivery address read from one chat message, in any of the four languages, and checked against the
zones the deployment serves.

« Rue de Carouge 50, 1205 Genève », « Carouge 50 1205 », « Bahnhofstr. 12, 8001 Zürich, 3. Stock »,
"50 rue de Carouge 1205 Geneva", a multi-line paste with a name on top: the reading finds the street, the
house number, the postal code, the locality (from the list of Swiss postal codes: its name wins over what
was typed), the details a courier needs (floor, door code, "leave with the neighbour") and says what is
missing or refused (a P.O. box, a postal code that is not Swiss). It is deterministic, needs no network
and never raises: whatever the person typed, the answer is a reading to confirm or a question to ask.

How: the parts that have their own words (P.O. box, care of, phone, details, country) are found first
and blanked out, keeping every other character at its place; then the postal code is chosen among the
numbers left, with its locality; what remains is split at commas and line ends, and the street with its
number is the part that reads as one. Abbreviations are kept as typed ("Av.", "Bahnhofstr."): the courier
reads what the customer wrote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select

from checkout import delivery, postcodes
from marketplace.accounts import ApprovalStatus, Organisation
from marketplace.db import UnitOfWork
from marketplace.settings import PostalZone, Settings

MAX_LENGTH = 500  # an address is a few lines: longer pastes are read on their first 500 characters


class AddressProblem(StrEnum):
    """What keeps a reading from being a home-delivery address; stable codes for the dialogue's messages."""

    NO_STREET = "no_street"
    NO_NUMBER = "no_number"
    NO_POSTAL_CODE = "no_postal_code"
    NOT_SWISS = "postal_code_not_swiss"  # a foreign code (F-74100, 5 digits) or 4 digits Switzerland lacks
    NO_HOMES = "postal_code_without_homes"  # a code only boxes and businesses have: 1211 Genève
    LOCALITY_AMBIGUOUS = "locality_ambiguous"  # 6900 is Lugano, Massagno or Paradiso, and none was named
    LOCALITY_MISMATCH = "locality_mismatch"  # "1205 Lausanne": the list's locality is used, worth a check
    PO_BOX = "po_box"  # « case postale », "Postfach", "PO Box": nobody to hand the goods to


# The problems that refuse home delivery; the others ask a question.
REFUSALS = frozenset({AddressProblem.NOT_SWISS, AddressProblem.NO_HOMES, AddressProblem.PO_BOX})


@dataclass(frozen=True)
class AddressReading:
    street: str = ""  # as typed: "Rue de Carouge", "Av. de France", "Rue du 31-Décembre"
    number: str = ""  # as typed, spaces collapsed: "50", "12bis", "10 bis", "7b", "12-14"
    postal_code: str = ""  # four digits, without "CH-"
    locality: str = ""  # the list's name for the postal code: "Genève" even when "Geneva" was typed
    details: str = ""  # for the courier: "3e étage, code 1234", "beim Nachbarn abgeben"
    care_of: str = ""  # "Dupont" of "c/o Dupont"
    phone: str = ""  # a phone number typed with the address, as typed
    typed_locality: str = ""  # what the message said the locality is, when it said it
    localities: tuple[str, ...] = ()  # the postal code's localities to choose from when it is ambiguous
    extra: tuple[str, ...] = ()  # lines the reading could not place (often the recipient's name)
    problems: tuple[AddressProblem, ...] = field(default=())

    @property
    def po_box(self) -> bool:
        return AddressProblem.PO_BOX in self.problems

    @property
    def refused(self) -> bool:
        """Not an address for home delivery, whatever is added to it."""
        return any(problem in REFUSALS for problem in self.problems)

    @property
    def complete(self) -> bool:
        """Street, number and a Swiss postal code with homes, nothing refused: a courier can go there."""
        blocking = REFUSALS | {AddressProblem.NO_STREET, AddressProblem.NO_NUMBER, AddressProblem.NO_POSTAL_CODE}
        return not any(problem in blocking for problem in self.problems)

    def one_line(self) -> str:
        """ "Rue de Carouge 50, 1205 Genève": the address as a summary shows it."""
        street = " ".join(part for part in (self.street, self.number) if part)
        place = " ".join(part for part in (self.postal_code, self.locality) if part)
        return ", ".join(part for part in (street, place) if part)


# --- patterns ----------------------------------------------------------------------------------------

_I = re.IGNORECASE
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "\u00a0": " ", "\t": " ",
                              "\r": "\n", "–": "-", "—": "-", "‑": "-", "‐": "-"})  # fmt: skip
_SEPARATORS = re.compile(r"[^\n,;]+")
_PART_BREAKS = re.compile(r"(?<=\s)[-/](?=\s)|[()\[\]{}!?]")
_B, _E = r"(?<![^\W_])", r"(?![^\W_])"  # word boundaries that work for "é" and digits alike

# A P.O. box: long forms with or without their number; the short ones (CP 123, BP 12) only with it.
_PO_BOX = re.compile(
    _B + r"(?:(?:case|bo[iî]te)\s+postale|postfach|casella\s+postale|p\.?\s?o\.?\s?box|post\s+office\s+box"
    r"|postlagernd|poste\s+restante|fermo\s+posta)" + _E + r"(?:\s*(?:n[°o]\.?|nr\.?)?\s*[0-9]{1,6})?"
    r"|" + _B + r"(?:c\.?\s?p\.?|b\.?\s?p\.?)\s*[0-9]{1,6}" + _E,
    _I,
)
# "c/o Dupont" anywhere; "chez", "bei", "presso", "z.H." only opening a line or a comma's part.
_CARE_OF = re.compile(
    r"(?:" + _B + r"c\s?/\s?o\.?|(?:^|(?<=[\n,;]))\s*(?:chez|bei|presso|p\.\s?a\.|z\.\s?hd?\.?|zhd\.?|attn\.?))"
    r"\s+(?P<who>[^\n,;0-9]*[^\W\d_][^\n,;0-9]*)",
    _I,
)
_PHONE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)\s?41|0)\s?\(?0?\)?\s?[0-9]{2}[ ./-]?[0-9]{3}[ ./-]?[0-9]{2}[ ./-]?[0-9]{2}(?![0-9])"
    r"|(?<![0-9])(?:\+|00)\s?[0-9]{2,3}(?:[ ./-]?[0-9]){6,12}(?![0-9])"
)
_CODE_VALUE = r"\s*(?::|n[°o]\.?|nr\.?)?\s*[#*]?[0-9A-Z]{0,3}[0-9][0-9A-Z#*]{0,7}" + _E
_SIDE = r"(?:\s+(?:à\s+|a\s+)?(?:gauche|droite|links|rechts|sinistra|destra|left|right))?"  # « 2e étage gauche »
_DETAILS = [
    re.compile(_B + pattern + _SIDE + _E, _I)
    for pattern in (
        # fr
        r"(?:au\s+)?[0-9]{1,2}\s*(?:e|è|ème|eme|éme|er|ère|ere|re)\.?\s*(?:étage|etage|ét\.?)",
        r"(?:au\s+)?(?:rez-de-chaussée|rez-de-chaussee|rez|rdc|sous-sol|entresol|attique|dernier\s+étage)"
        r"(?:\s+(?:inférieur|supérieur|inf\.?|sup\.?))?",
        r"étage\s*:?\s*[0-9]{1,2}",
        r"(?:appartement|appart\.?|app\.?|apt\.?|logement)\s*(?:n[°o]\.?\s*)?[0-9A-Z]{1,5}",
        r"(?:bâtiment|batiment|bât\.|bat\.|entrée|entree|escalier)\s+(?-i:[A-Z][0-9]?|[0-9]{1,3})",
        r"(?:digicode|interphone|code(?:\s+(?:de\s+la\s+porte|porte|d'entrée|d'entree|d'accès|d'acces|"
        r"de\s+l'immeuble|immeuble|portail))?)" + _CODE_VALUE,
        r"(?:boîte|boite)\s+(?:aux\s+)?lettres?\s+[0-9A-Z]{1,4}",
        # de
        r"(?:im\s+)?[0-9]{1,2}\.\s*(?:Stock|Stockwerk|OG|Obergeschoss|Etage|UG|Untergeschoss)",
        r"(?:im\s+)?(?:Erdgeschoss|Hochparterre|Parterre|Dachgeschoss|Untergeschoss|Souterrain|Attika)",
        r"(?:Türcode|Tür-Code|Türe-Code|Haustürcode|Eingangscode|Zugangscode|Torcode)" + _CODE_VALUE,
        r"(?:Wohnung|Whg\.?)\s*(?:Nr\.?\s*)?[0-9A-Z]{1,5}",
        r"(?:Eingang|Treppenhaus)\s+(?-i:[A-Z][0-9]?|[0-9]{1,2})",
        # it
        r"(?:al\s+)?[0-9]{1,2}\s*(?:°|º|o|ª|\.)?\s*piano",
        r"piano\s+(?:terra|rialzato)",
        r"(?:pianterreno|pian\s+terreno|seminterrato|attico)",
        r"(?:interno|int\.)\s*[0-9A-Z]{1,4}",
        r"scala\s+(?-i:[A-Z])",
        r"(?:codice(?:\s+(?:del\s+)?(?:portone|porta|d'accesso|d'ingresso|citofono))?)" + _CODE_VALUE,
        r"citofono\s+[^\W\d_][\w'-]*",
        # en
        r"[0-9]{1,2}(?:st|nd|rd|th)\s*floor",
        r"(?:ground|top|first|second|third|fourth|fifth)\s+floor",
        r"floor\s*[0-9]{1,2}",
        r"(?:flat|apartment|unit|suite)\s*#?\s*[0-9A-Z]{1,5}",
        r"(?:door|entry|gate|access|building|entrance|intercom)\s+code" + _CODE_VALUE,
        r"(?:entrance|building|staircase|block)\s+(?-i:[A-Z][0-9]?|[0-9]{1,2})",
    )
]
_DE_UPPER = re.compile(r"(?<![^\W_])(?:EG|OG|DG|UG)(?![^\W_])")  # German floor abbreviations, capitals only
# Instructions run from their first word to the end of their part of the message.
_INSTRUCTION = re.compile(
    _B + r"(?:"
    r"(?:à\s+|a\s+|merci\s+de\s+|svp\s+)?(?:laisser|déposer|deposer|sonner|frapper|appeler|livrer\s+(?:chez|au|à))"
    r"|(?:chez|à)\s+(?:le|la|les|mon|ma|mes|ma)\s+voisin|(?:au|aux)\s+voisin|si\s+(?:absent|personne)"
    r"|(?:bitte\s+)?(?:bei|beim|vor|an|im)\s[^\n,;]{0,40}?(?:abgeben|abstellen|klingeln|läuten|deponieren|hinterlegen)"
    r"|(?:bitte\s+)?beim?\s+(?:Nachbar|Nachbarn|Nachbarin)|falls\s+(?:niemand|abwesend)|bitte\s+(?:klingeln|läuten)"
    r"|(?:please\s+)?(?:leave|ring|knock|call|deliver\s+to)|with\s+(?:the\s+)?neighbou?r|next\s+door|if\s+(?:not\s+home|absent|out)"
    r"|(?:per\s+favore\s+)?(?:lasciare|lasciarlo|lasciatelo|suonare|consegnare)|(?:dal|al|presso\s+il)\s+vicino|dalla\s+vicina"
    r"|se\s+(?:assente|non\s+ci\s+sono)"
    r")" + _E + r"[^\n,;]*",
    _I,
)
# The country, said or not: "CH" alone only in capitals, so that "Ch. de la Gravière" stays a street.
_COUNTRY = re.compile(
    _B + r"(?:suisse|switzerland|schweiz|svizzera|svizra)" + _E + r"|(?<![\w-])(?-i:CH)(?![\w.-]|\s*-?\s*[0-9])", _I
)
# Politeness around the address (after the details: "bitte beim Nachbarn abgeben" is an instruction).
_POLITE = re.compile(
    _B + r"(?:s'il\s+(?:vous|te)\s+plaît|s'il\s+(?:vous|te)\s+plait|svp|stp|merci(?:\s+beaucoup)?|bitte|danke"
    r"(?:\s+schön)?|grazie(?:\s+mille)?|per\s+favore|please|thanks|thank\s+you)" + _E,
    _I,
)
# A postal code: 4 digits, maybe "CH-"; or a foreign one (F-74100, 5 digits) to flag.
_FOREIGN_PREFIX = r"(?:FL|LI|F|FR|D|DE|I|IT|A|AT|B|BE|L|LU|DK|NL|N|NO)"
_POSTAL = re.compile(
    r"(?<![0-9A-Za-z./-])(?:(?P<ch>CH)\s?-?\s?|(?P<foreign>" + _FOREIGN_PREFIX + r")\s?-\s?)?"
    r"(?P<digits>[0-9]{4,5})(?![0-9]|[A-Za-z]|\s?(?:bis|ter|quater)" + _E + r"|\s?[-/]\s?[0-9])",
    _I,
)
# A house number: 50, 12bis, 10 bis, 7b, 12-14, 3/5.
_NUMBER = (
    r"(?P<num>[0-9]{1,4}(?:\s?(?:bis|ter|quater)(?![^\W\d_])|\s?[a-zA-Z](?![^\W\d_]))?"
    r"(?:\s?[-/]\s?[0-9]{1,4}[a-zA-Z]?)?)"
)
_NUMBER_PREFIX = r"(?:" + _B + r"(?:n[°o]|nr|no|num)\.?\s*)?"  # "n° 5", "Nr. 5"; not the "no" of "Lugano 5"
# "… 50 à 1205 Genève", "… 3 à Carouge": what follows the number is where, said without a postal code.
_NUMBER_LAST = re.compile(
    r"(?P<street>.*?[^\W\d_]{2}.*?)[\s,]*"
    + _NUMBER_PREFIX
    + _NUMBER
    + r"(?:\s+(?:à|a|au|in|en|nach|at|to)(?:\s+(?P<town>[^\W\d_][\w' .-]*[^\W\d_]))?)?\s*\.?",
    _I,
)
_NUMBER_FIRST = re.compile(_NUMBER + r"[\s,]+(?P<street>[^\W\d_](?:.*?[^\W\d_])?)\s*\.?", _I)
_LONE_NUMBER = re.compile(_NUMBER_PREFIX + _NUMBER + r"\s*\.?", _I)  # « Rue de Carouge, 50, 1205 Genève »
# What people say before the address: « je suis au Rue… », "I live at 50 rue…", "ecco: Via…".
_CHATTER = re.compile(
    r"(?:(?:je|j'|suis|habite|j'habite|c'est|mon|adresse|est|au|à|livrez-moi|livrez|livrer|moi|voici|svp|merci"
    r"|ich|wohne|meine|ist|bitte|liefern|an|der|in|am|im|io|abito|il|mio|indirizzo|è|ecco"
    r"|my|address|is|i|live|at|deliver|to|please|here|it's)(?![^\W_])[\s:,-]*)+",
    _I,
)
# Words that make a part read as a street even without a number.
_STREET_WORD = re.compile(
    _B + r"(?P<kind>rue|route|rte|chemin|ch|avenue|av|boulevard|bd|place|pl|quai|promenade|prom|allée|impasse"
    r"|imp|passage|sentier|ruelle|rampe|cours|esplanade|square|chaussée|via|viale|piazza|piazzetta|vicolo|corso"
    r"|strada|contrada|salita|street|st|road|rd|lane|drive|way)"
    + _E
    + r"|(?P<suffix>strasse|straße|str\.|gasse|weg|platz|allee|ring|rain|halde|matte|graben|steig|hof)"
    + _E,
    _I,
)


# --- reading ---------------------------------------------------------------------------------------


@dataclass
class _Work:
    """The message being read: `text` as typed, `work` the same length with apostrophes made plain and
    every part already read blanked out, so positions in one are positions in the other."""

    text: str
    work: str

    def visible(self, start: int, end: int) -> str:
        """The typed text of a span without what was already read out of it, whitespace collapsed."""
        kept = (t if w != " " else " " for t, w in zip(self.text[start:end], self.work[start:end], strict=True))
        return " ".join("".join(kept).split())

    def take(self, start: int, end: int) -> str:
        """`visible`, then blanked out of what is left to read."""
        found = self.visible(start, end)
        self.work = self.work[:start] + " " * (end - start) + self.work[end:]
        return found

    def parts(self) -> list[tuple[int, int]]:
        """Spans of what is left, between commas, semicolons and line ends, that still hold a letter or digit."""
        return [(m.start(), m.end()) for m in _SEPARATORS.finditer(self.work) if any(c.isalnum() for c in m.group())]

    def part_of(self, position: int) -> tuple[int, int]:
        start = max(self.work.rfind(sep, 0, position) for sep in "\n,;") + 1
        ends = [i for i in (self.work.find(sep, position) for sep in "\n,;") if i >= 0]
        return start, min(ends, default=len(self.work))


def read_address(text: str, lang: str = "fr") -> AddressReading:
    """Read a delivery address from one message; never raises (what is missing is in `problems`)."""
    text = (text or "")[:MAX_LENGTH]
    # Brackets, "!", "?" and a dash or slash between spaces separate parts as a comma does (same length).
    state = _Work(text, _PART_BREAKS.sub(",", text.translate(_APOSTROPHES)))
    po_box = bool(_take_all(state, _PO_BOX))
    phone = next(iter(_take_all(state, _PHONE)), "")  # before the details: « appeler le 079 … » keeps it
    details = _details(state)
    care_of = _care_of(state)
    _take_all(state, _COUNTRY)
    _take_all(state, _POLITE)
    postal = _postal_code(state)
    street, number, town = _street_with_number(state, lang)
    typed = postal.typed_locality or town or _locality_part(state, postal.code)
    if not street:
        street, number = _street_without_number(state)
    locality, localities, locality_problems = _locality(postal.code, typed)
    problems = [
        *([AddressProblem.NO_STREET] if not street else []),
        *([AddressProblem.NO_NUMBER] if not number else []),
        *postal.problems,
        *locality_problems,
        *([AddressProblem.PO_BOX] if po_box else []),
    ]
    return AddressReading(
        street=street, number=number, postal_code=postal.code, locality=locality, details=", ".join(details),
        care_of=care_of, phone=phone, typed_locality=typed, localities=localities,
        extra=tuple(state.visible(start, end) for start, end in state.parts()), problems=tuple(problems),
    )  # fmt: skip


def _take_all(state: _Work, pattern: re.Pattern[str]) -> list[str]:
    found = [(m.start(), m.end()) for m in pattern.finditer(state.work) if m.group().strip()]
    return [state.take(start, end) for start, end in found]


def _details(state: _Work) -> list[str]:
    """Floor, door code, flat, instructions for the courier, in the order they were typed."""
    found = sorted(
        (
            (m.start(), m.end())
            for pattern in (_INSTRUCTION, *_DETAILS, _DE_UPPER)
            for m in pattern.finditer(state.work)
        ),
        key=lambda span: (span[0], -span[1]),
    )
    spans: list[tuple[int, int]] = []
    for start, end in found:  # the earliest and longest wins: "door code 4521", not "code 4521"
        if state.work[start:end].strip() and not any(s < end and start < e for s, e in spans):
            spans.append((start, end))
    return [state.take(start, end) for start, end in spans]


def _care_of(state: _Work) -> str:
    match = _CARE_OF.search(state.work)
    if not match:
        return ""
    who = state.visible(match.start("who"), match.end("who"))
    state.take(match.start(), match.end())
    return who


@dataclass(frozen=True)
class _Postal:
    code: str = ""
    typed_locality: str = ""
    problems: tuple[AddressProblem, ...] = ()


def _postal_code(state: _Work) -> _Postal:
    """The most likely postal code among the numbers of 4 or 5 digits left, and the locality typed after it."""
    candidates = list(_POSTAL.finditer(state.work))
    if not candidates:
        return _Postal(problems=(AddressProblem.NO_POSTAL_CODE,))
    best = max(candidates, key=lambda m: (_postal_score(state, m), m.start()))
    digits, foreign = best.group("digits"), best.group("foreign")
    typed = _locality_after(state, digits, best.end())
    state.take(best.start(), best.end())
    if foreign or len(digits) == 5:
        return _Postal("", typed, (AddressProblem.NOT_SWISS,))
    if not postcodes.is_swiss(digits):
        return _Postal(digits, typed, (AddressProblem.NOT_SWISS,))
    if not postcodes.serves_homes(digits):
        return _Postal(digits, typed, (AddressProblem.NO_HOMES,))
    return _Postal(digits, typed)


def _postal_score(state: _Work, match: re.Match[str]) -> int:
    """Prefer "CH-" codes, codes followed by one of their localities, Swiss codes, codes opening their part
    (« 1205 Genève »), so that a four-digit house number (« Route de Chancy 1234 ») is not taken for one."""
    digits = match.group("digits")
    start, end = state.part_of(match.start())
    after = state.work[match.end() : end].strip()
    score = 8 if match.group("ch") else 0
    if after and postcodes.match_locality(digits, after):
        score += 4
    if len(digits) == 4 and postcodes.is_swiss(digits):
        score += 2
    if not state.work[start : match.start()].strip():
        score += 1
    return score


# A locality's words, and the number of a post office after them ("Genève 1"), which the list folds away.
_LOCALITY_WORDS = re.compile(r"\s*((?:[^\W\d_][\w'./ -]*[^\W\d_]|[^\W\d_])(?:\s+[0-9]{1,2}(?![0-9]))?)")


def _locality_after(state: _Work, code: str, start: int) -> str:
    """The words after the postal code in its part (« 1205 Genève »), blanked out; not when they read as a
    street that is no locality of the code (« 1205 Rue de Carouge 50 »)."""
    end = state.part_of(start)[1]
    match = _LOCALITY_WORDS.match(state.work, start, end)
    if not match:
        return ""
    first, last = match.start(1), match.end(1)
    # The longest run of words that names one of the code's localities: « Genève » of « Genève svp ».
    for word in reversed(list(re.finditer(r"\S+", state.work[first:last]))):
        if postcodes.match_locality(code, state.work[first : first + word.end()]):
            return state.take(first, first + word.end()).rstrip(" .")
    if _STREET_WORD.search(state.work[first:last]):
        return ""
    return state.take(first, last).rstrip(" .")


def _street_with_number(state: _Work, lang: str) -> tuple[str, str, str]:
    """The part that reads as a street with its number (« Rue de Carouge 50 », "50 rue de Carouge"),
    blanked out. A part with a street word wins over a bare "Carouge 50"-like one."""
    readings = []
    for start, end in state.parts():
        segment = state.work[start:end]
        offset = start + len(segment) - len(segment.lstrip())
        segment = segment.strip()
        skip = _chatter(segment)
        offset, segment = offset + skip, segment[skip:]
        for pattern in _street_patterns(lang):
            match = pattern.fullmatch(segment)
            if match:
                readings.append((bool(_STREET_WORD.search(match.group("street"))), offset, start, end, match))
                break
    if not readings:
        return "", "", ""
    _, offset, start, end, match = max(readings, key=lambda reading: reading[0])
    street = state.visible(offset + match.start("street"), offset + match.end("street")).rstrip(" ,")
    number = state.visible(offset + match.start("num"), offset + match.end("num"))
    town = match.groupdict().get("town")
    town = state.visible(offset + match.start("town"), offset + match.end("town")) if town else ""
    state.take(start, end)
    return street, number, town


def _chatter(segment: str) -> int:
    """How many characters of talk open the part before its street or number (0 when none)."""
    match = _CHATTER.match(segment)
    if not match or match.end() == len(segment):
        return 0
    rest = segment[match.end() :]
    if rest[0].isdigit():  # "at 50 rue de Carouge"; not the "Au" of « In der Au 5 », which is the street
        return match.end() if _NUMBER_FIRST.fullmatch(rest) else 0
    # A street word opens what follows (« Rue », "Bahnhofstrasse"), not a street named by its suffix
    # alone: "An der Halde" keeps its "An der".
    street = _STREET_WORD.search(rest.split()[0])
    return match.end() if street and (street.group("kind") or street.start() > 0) else 0


def _street_patterns(lang: str) -> tuple[re.Pattern[str], ...]:
    # « Rue X 5 » is the Swiss way in every language; "5 X Street" is English (and some French habits).
    return (_NUMBER_FIRST, _NUMBER_LAST) if lang == "en" else (_NUMBER_LAST, _NUMBER_FIRST)


def _street_without_number(state: _Work) -> tuple[str, str]:
    """A part with a street word (« Rue du 31-Décembre », "Bahnhofstrasse") when no part has a number,
    and its number if the part just before or after is one (« Rue de Carouge, 50 »)."""
    parts = state.parts()
    for index, (start, end) in enumerate(parts):
        if _STREET_WORD.search(state.work[start:end]) and sum(c.isalpha() for c in state.work[start:end]) >= 3:
            street = state.take(start, end).strip(" ,.")
            for near_start, near_end in (parts[index + 1 : index + 2] + parts[max(index - 1, 0) : index])[:2]:
                lone = _LONE_NUMBER.fullmatch(state.work[near_start:near_end].strip())
                if lone:
                    offset = (
                        near_start
                        + len(state.work[near_start:near_end])
                        - len(state.work[near_start:near_end].lstrip())
                    )
                    number = state.visible(offset + lone.start("num"), offset + lone.end("num"))
                    state.take(near_start, near_end)
                    return street, number
            return street, ""
    return "", ""


def _locality_part(state: _Work, code: str) -> str:
    """A part left over that names one of the code's localities (« 1205 » on one line, « Genève » on the
    next, or « Genève 1205 »)."""
    if not code:
        return ""
    for start, end in state.parts():
        if postcodes.match_locality(code, state.work[start:end]):
            return state.take(start, end)
    return ""


def _locality(code: str, typed: str) -> tuple[str, tuple[str, ...], list[AddressProblem]]:
    """The list's locality for the code: the one typed if it names one, else the only one there is."""
    found = postcodes.lookup(code)
    names = tuple(dict.fromkeys(loc.name for loc in found if loc.homes or not any(f.homes for f in found)))
    if not names:
        return "", (), []
    matched = postcodes.match_locality(code, typed) if typed else None
    if matched:
        return matched.name, (), []
    mismatch = [AddressProblem.LOCALITY_MISMATCH] if typed else []
    if len(names) == 1:
        return names[0], (), mismatch
    return "", names, [*mismatch, AddressProblem.LOCALITY_AMBIGUOUS]


# --- served zones ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneCheck:
    """Whether home delivery reaches a postal code, and what to show the person when it does not."""

    served: bool
    zones: tuple[str, ...]  # "1200-1234", "1256": the served postal codes
    localities: tuple[str, ...]  # the localities with homes in those zones, alphabetical


def zone_label(zone: PostalZone) -> str:
    return str(zone.first) if zone.first == zone.last else f"{zone.first}-{zone.last}"


def check_zone(postal_code: str, zones: Sequence[PostalZone]) -> ZoneCheck:
    """Served when the postal code lies in one of the zones (the rule of `DeliverySettings.serves`)."""
    code = postal_code.strip()
    served = len(code) == 4 and code.isascii() and code.isdigit() and any(int(code) in zone for zone in zones)
    names = {
        loc.name
        for loc in postcodes.all_localities()
        if loc.homes and any(int(loc.postal_code) in zone for zone in zones)
    }
    return ZoneCheck(served, tuple(zone_label(z) for z in zones), tuple(sorted(names, key=str.casefold)))


def served_zones(uow: UnitOfWork, settings: Settings) -> tuple[PostalZone, ...]:
    """The postal codes home delivery really reaches: the deployment's zones (what placing an order checks)
    and, once delivery companies publish slots, only where an approved company serves too (elsewhere no
    slot would be offered). Reads `checkout.delivery`'s zones, changes nothing."""
    configured = settings.delivery.zones
    if not delivery.has_slots(uow):
        return tuple(configured)
    rows = uow.session.execute(
        select(delivery.DeliveryZone.first_code, delivery.DeliveryZone.last_code)
        .join(Organisation, Organisation.id == delivery.DeliveryZone.company_id)
        .where(Organisation.status == ApprovalStatus.APPROVED)
    )
    companies = [PostalZone(first, last) for first, last in rows]
    overlaps = sorted(
        (max(a.first, b.first), min(a.last, b.last))
        for a in configured
        for b in companies
        if max(a.first, b.first) <= min(a.last, b.last)
    )
    merged: list[list[int]] = []
    for first, last in overlaps:  # two companies on the same codes: one zone to show, not two
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return tuple(PostalZone(first, last) for first, last in merged)
