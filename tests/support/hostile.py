"""Hostile input for property tests: what people (or programs posing as them) may send any chat adapter.

Strategies for arbitrary unicode, control characters (NUL, terminal escapes, bidi overrides, lone surrogates),
100 kB messages, markup meant to break HTML or Markdown, SQL-looking text, commands with junk arguments,
malformed Rasa payloads and callback data, and malformed answers from Rasa; and the checks the properties
share: a snapshot of the marketplace's tables, Telegram's and Matrix's rules for a well-formed message, and
"is this sentence in German?" read against the gettext catalogs.

The budget: `budget()` is the Hypothesis profile registered in tests/conftest.py, "hostile" (50 examples
per property, `make test`) or "fuzz" (2000, `make fuzz`, HYPOTHESIS_PROFILE=fuzz).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from babel.messages.pofile import read_po
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from bot.commands import DIRECT
from bot.router import TO_INTENT
from marketplace.db import Database
from marketplace.settings import PROJECT_ROOT

# --- budget ------------------------------------------------------------------------------------------


def budget() -> settings:
    """The examples each property gets: the long profile under `make fuzz`, else the bounded one."""
    return settings.get_profile("fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "hostile")


# --- text ---------------------------------------------------------------------------------------------

CONTROLS = ["\x00", "\x07", "\x08", "\x1b[31m", "\x1b]0;pwned\x07", "\r", "\r\n", "\t", "\x0b", "\x0c", "\x7f",
            "\x85", "\x9b", "\u2028", "\u2029", "\ufeff", "\u200b", "\u200d", "\u00ad"]  # fmt: skip
BIDI = ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c"]
SURROGATES = ["\ud800", "\udfff", "\ud83d"]  # a Matrix event's JSON may carry them escaped; Telegram's never does
MARKUP = [
    "<b>", "</b>", "<i>unclosed", "</i>", "<a href='javascript:alert(1)'>x</a>", '<a href="tg://user?id=1">',
    "<script>alert(1)</script>", "<tg-spoiler>", "<pre><code class=\"language-x\">", "<span class=x>", "<>", "</>",
    "&", "&amp;", "&lt;", "&#0;", "&#x110000;", "&#xD800;", "&nbsp;", "&unknown;", ">", "<", "<<b>>", "<b\n>",
    "*bold*", "_italic_", "__u__", "~s~", "||spoiler||", "`code`", "```\npre\n```", "[link](http://127.0.0.1)",
    "![img](file:///etc/passwd)", "\\", "\\*", "# title", "> quote", "<!-- -->", "<![CDATA[x]]>",
    "{product}", "{0}", "%s", "%(name)s", "{{", "}}", "${jndi:ldap://x}",
]  # fmt: skip
SQL = [
    "'; DROP TABLE people; --", "1 OR 1=1", "' OR '1'='1", "\" OR \"\"=\"", "Robert'); DROP TABLE products;--",
    "%' UNION SELECT token FROM chat_identities --", "1; UPDATE products SET price_chf=0", "\\'; --", "%", "_",
    "NULL", "None", "null", "true", "NaN", "-1", "0", "1e309", "-0", "99999999999999999999999999", "0x10",
]  # fmt: skip
PIECES = CONTROLS + BIDI + MARKUP + SQL + ["miel", "Honig", "2 kg", "🍯", "é", "ß", "ﬁ", "İ", "\u0301", " ", "\n"]


def typed_text(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Anything a person could send as a message, small or 100 kB."""
    pieces = PIECES + (SURROGATES if surrogates else [])
    alphabet = st.characters(codec=None if surrogates else "utf-8")
    return st.one_of(
        st.text(alphabet),
        st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs", "Mn", "So"])),
        st.lists(st.one_of(st.sampled_from(pieces), st.text(alphabet, max_size=8)), max_size=12).map("".join),
        huge(pieces),
    )


def huge(pieces: list[str]) -> st.SearchStrategy[str]:
    """About 100 kB of one piece repeated, with a word or a newline here and there."""
    return st.builds(
        lambda piece, size: (piece * (size // len(piece) + 1))[:size],
        st.sampled_from([*pieces, "a", "a\n", "é ", "<b>&"]),
        st.sampled_from([4097, 5000, 65_537, 100_000]),
    )


def command_text() -> st.SearchStrategy[str]:
    """Commands, known and unknown, with junk arguments: « /stock <b> 1e309 », « /oublier », « / intent{} ».
    Not /forget: the answer to its question (« 1 », « ja ») erases the person, a change the properties would
    flag though it is what the person asked (its hostile arguments: tests/integration/test_data_rights_chat.py)."""
    known = sorted((DIRECT - {"forget"}) | set(TO_INTENT) | {"start", "orders"})
    names = st.one_of(
        st.sampled_from(known),
        st.sampled_from(["oublier", "aide", "xyz", "admin", "quit", "producer", "consumer", "OUBLIER", "stock@bot"]),
        st.text(st.characters(codec="utf-8", exclude_characters=" \n"), min_size=1, max_size=40),
    )
    junk = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=10)), max_size=5).map(" ".join)
    return st.one_of(
        st.builds(lambda n, a: f"/{n} {a}".rstrip(), names, junk),
        st.builds(lambda prefix, p: prefix + p, st.sampled_from(["/ ", " /", "/_", "/1", "//", "/"]), rasa_payload()),
        st.sampled_from(["/", "/ ", "/@", "/{", "/ intent{}", '/ add_to_basket{"product": "#1", "quantity": "9"}']),
    )


INTENTS = ["greet", "help", "add_to_basket", "choose_delivery", "change_language", "checkout", "affirm",
           "product_details", "update_stock", "nlu_fallback", "forget", "xyz", "Greet", "greet@0.9", ""]  # fmt: skip
ENTITY_NAMES = ["product", "quantity", "time_slot", "postal_code", "payment_method", "language", "delivery_mode",
                "amount", "order_id", "vendor", "unknown", ""]  # fmt: skip
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(SQL + MARKUP),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def rasa_payload() -> st.SearchStrategy[str]:
    """Rasa payloads, well formed or not: unknown intents, broken JSON, odd entity values, huge values."""
    entities = st.dictionaries(st.sampled_from(ENTITY_NAMES), JSONISH, max_size=4)
    well_formed = st.builds(
        lambda intent, values: f"/{intent}" + (json.dumps(values) if values else ""), st.sampled_from(INTENTS), entities
    )
    broken = st.builds(
        lambda intent, tail: f"/{intent}{tail}",
        st.sampled_from(INTENTS),
        st.sampled_from(["{", "{]", '{"product": ', "{'product': '#1'}", "[1, 2]", '{"a": 1}{"b": 2}', "{}x",
                         '{"product": "#84"', "@", "@x{}", '{"quantity": "1e309"}', "{" + "[" * 2000 + "}"]),
    )  # fmt: skip
    huge_value = st.builds(lambda v: '/add_to_basket{"product": ' + json.dumps(v) + "}", huge(["#1", "é"]))
    return st.one_of(well_formed, broken, huge_value, st.text(max_size=80).map(lambda t: "/" + t))


def well_formed_payload(text: str) -> bool:
    """Shaped as our buttons' payloads: `/intent` or `/intent{...}`, entities a JSON object of strings, numbers or
    lists of them. (Written here on its own, not taken from the router, so that a test can disagree with it.)"""
    intent, brace, rest = text.strip().partition("{")
    if not re.fullmatch(r"/[a-z][a-z_]*", intent):
        return False
    if not brace:
        return True
    try:
        entities = json.loads(brace + rest)
    except ValueError:
        return False

    def plain(value: Any) -> bool:
        return isinstance(value, str | int | float)

    return isinstance(entities, dict) and all(
        plain(v) or (isinstance(v, list) and all(plain(i) for i in v)) for v in entities.values()
    )


def callback_data() -> st.SearchStrategy[str]:
    """What a modified Telegram client can put in a callback query: ≤ 64 bytes of anything."""
    forged = st.one_of(
        st.sampled_from(["pg:", "pg::", "pg:x", "pg:x:y", "pg:a:b:c", "pg:abc:-1", "pg:abc:99999999999", "k:", "k:0",
                         "k:" + "f" * 24, "k:../../", "/stock CHA 0", "/price CHA 0.01", "/link AAAA-BBBB",
                         "/delivered GE-XXXXXX paid", "/ready GE-XXXXXX", '/change_language{"language": "xx"}']),
        st.text(max_size=64),
        rasa_payload(),
        command_text(),
    )  # fmt: skip
    return forged.map(lambda data: data.encode("utf-8", "ignore")[:64].decode("utf-8", "ignore"))


def rasa_answer() -> st.SearchStrategy[Any]:
    """What Rasa's REST channel could answer, well formed or not (a broken plugin, a custom payload)."""
    button = st.one_of(
        st.fixed_dictionaries({"title": typed_text(), "payload": st.one_of(rasa_payload(), typed_text())}),
        st.dictionaries(st.sampled_from(["title", "payload", "type", "url"]), JSONISH, max_size=3),
        JSONISH,
    )
    message = st.one_of(
        st.fixed_dictionaries(
            {"recipient_id": st.just("x"), "text": typed_text()},
            optional={"buttons": st.lists(button, max_size=20), "image": st.sampled_from(["", "https://x.test/a.png"])},
        ),
        st.dictionaries(st.sampled_from(["text", "buttons", "image", "custom", "attachment"]), JSONISH, max_size=4),
        JSONISH,
    )
    return st.one_of(st.lists(message, max_size=4), JSONISH)


# --- the database -------------------------------------------------------------------------------------

# Rasa's tracker store shares the database: its `events` table records every turn by design.
NOT_MARKETPLACE = frozenset({"events"})


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every marketplace table as the database holds it, in a stable order: compare two to see
    that nothing changed. (Read with plain SQL, so a table or column added later is compared too.)"""
    with db.engine.connect() as conn:
        names = [name for name in inspect(conn).get_table_names() if name not in NOT_MARKETPLACE]
        return {
            name: sorted((tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
            for name in names
        }


# --- well-formed messages -----------------------------------------------------------------------------

MATRIX_EVENT_LIMIT = 65_536  # bytes of a whole event, as Synapse counts them


def matrix_content_problems(content: dict[str, Any]) -> list[str]:
    """Why Synapse (or a client) would refuse or mangle this m.room.message content; empty when fine."""
    problems = []
    try:
        encoded = json.dumps(content, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        return [f"not UTF-8 JSON: {exc}"]
    if len(encoded) > MATRIX_EVENT_LIMIT - 2048:  # room for the event's envelope (ids, keys, hashes)
        problems.append(f"content of {len(encoded)} bytes")
    if not isinstance(content.get("msgtype"), str) or not isinstance(content.get("body"), str):
        problems.append("msgtype and body must be strings")
    elif content["msgtype"] in ("m.text", "m.notice") and not content["body"].strip():
        problems.append("empty body")
    if "formatted_body" in content:
        if content.get("format") != "org.matrix.custom.html" or not isinstance(content["formatted_body"], str):
            problems.append("formatted_body without the HTML format")
        elif not balanced_html(content["formatted_body"]):
            problems.append("formatted_body is not balanced HTML")
    return problems


VOID = frozenset({"br", "hr", "img"})


def balanced_html(source: str) -> bool:
    """Tags open and close in order (what Matrix clients need to render formatted_body as meant)."""
    from html.parser import HTMLParser

    stack: list[str] = []
    ok = True

    class Checker(HTMLParser):
        def handle_starttag(self, tag: str, _attrs: Any) -> None:
            if tag not in VOID:
                stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            nonlocal ok
            if not stack or stack.pop() != tag:
                ok = False

    Checker().feed(source)
    return ok and not stack


# --- "is this German?" ----------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@cache
def _line_patterns(lang: str) -> tuple[re.Pattern[str], ...]:
    """One regex per line of every translation in `lang` (placeholders match anything), for lines with at
    least a few words of their own: a translation of one word or a bare placeholder tells no language."""
    path = PROJECT_ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    patterns = []
    for message in catalog:
        if not message.id or not isinstance(message.string, str):
            continue
        for line in message.string.split("\n"):
            literal = PLACEHOLDER.sub("", line)
            if len(re.findall(r"[^\W\d_]{2,}", literal)) < 2:
                continue
            parts = [re.escape(part) for part in PLACEHOLDER.split(line.strip())]
            patterns.append(re.compile(".*?".join(parts), re.DOTALL))
    return tuple(patterns)


def languages_of(text_: str, candidates: Iterable[str] = ("fr", "de", "it", "en")) -> set[str]:
    """The languages whose catalogs hold one of the text's lines (a line may be in a template of several)."""
    found: set[str] = set()
    for line in text_.split("\n"):  # our lines: a person's U+2028 inside an echoed word is no line break
        line = line.strip()
        if not line:
            continue
        for lang in candidates:
            if any(p.fullmatch(line) for p in _line_patterns(lang)):
                found.add(lang)
    return found


def says_in(text_: str, lang: str) -> bool:
    """The text is one of our sentences in `lang`, and none of its lines is a sentence of another language only."""
    lines = [line.strip() for line in text_.split("\n") if line.strip()]
    hits = [languages_of(line) for line in lines]
    return any(lang in h for h in hits) and all(lang in h or not h for h in hits)
