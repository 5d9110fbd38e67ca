"""JSON-LD read safely and offline: size and nesting limits checked before anything is parsed, contexts answered
from the files shipped in catalog/feeds/contexts/ (never from the network), and the expanded document turned into
a small graph of nodes whose property and type names are compacted to the prefixes the readers use (`dfc-b:name`,
`schema:offers`), whichever published version of a vocabulary the source used.

Why expand and compact names ourselves rather than `jsonld.compact` against one context: DFC 1.x and 2.0 put the
same terms under different namespaces, so compacting a 2.0 document against the 1.16 context would leave full IRIs.
Expansion (by pyld, with the context the source named) resolves every alias, prefix and @vocab the source used; the
graph below then maps both versions' namespaces onto one set of prefixes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any, TypeVar

from pyld import jsonld

from catalog.feeds.items import FeedUnreadable

log = logging.getLogger(__name__)
T = TypeVar("T")
D = TypeVar("D")

CONTEXT_DIR = Path(__file__).parent / "contexts"
MAX_BYTES = 10 * 1024 * 1024  # our own DFC export of 5 000 products is 7.5 MB (pyld reads it in ~6 s of CPU)
MAX_DEPTH = 64  # real feeds nest less than 10 deep; json and pyld recurse, so a 100 000-deep array must not reach them
MAX_OBJECTS = 200_000  # our 5 000-product export has 25 000; pyld needs ~0.3 ms of CPU for each

# Context URLs we answer, normalised (see _normalise_url), and the shipped file that answers each: the URLs the DFC
# connectors (connector-ruby 1.x and 2.0) preload, and schema.org's.
DFC_V1 = "dfc_context_1.16.0.json"
DFC_V2 = "dfc_context_2.0.0.json"
SCHEMA_ORG = "schema_org_minimal.json"
KNOWN_CONTEXTS: dict[str, str] = {
    "http://w3id.org/dfc/ontology/context/context_1.16.0.json": DFC_V1,
    "http://www.datafoodconsortium.org": DFC_V1,  # "latest": still 1.16 in OFN's default (v1) API
    "http://www.datafoodconsortium.org/wp-content/plugins/wordpress-context-jsonld/context_1.16.0.jsonld": DFC_V1,
    "http://www.datafoodconsortium.org/wp-content/plugins/wordpress-context-jsonld/context.jsonld": DFC_V1,
    "http://static.datafoodconsortium.org/ontologies/context.json": DFC_V1,
    "http://w3id.org/dfc/ontology/context/context_2.0.0.json": DFC_V2,
    "http://w3id.org/dfc/ontology/v2.0.0/context/context_2.0.0.json": DFC_V2,
    "http://www.datafoodconsortium.org/wp-content/plugins/wordpress-context-jsonld/context_2.0.0.jsonld": DFC_V2,
    "http://cdn.jsdelivr.net/gh/datafoodconsortium/ontology/context/context_2.0.0.json": DFC_V2,
    "http://schema.org": SCHEMA_ORG,
    "http://schema.org/docs/jsonldcontext.json": SCHEMA_ORG,
    "http://schema.org/docs/jsonldcontext.jsonld": SCHEMA_ORG,
}
DFC_CONTEXT_URL = "https://w3id.org/dfc/ontology/context/context_1.16.0.json"  # what our DFC export names
SCHEMA_ORG_CONTEXT_URL = "https://schema.org"

# Namespaces that are the same vocabulary whatever the version or scheme: schema.org is written with http and https.
EXTRA_NAMESPACES = {"schema": ("http://schema.org/", "https://schema.org/")}
# Relative IRIs (a bare word where an IRI is expected, `"hasType": "flour"`) resolve against this, and the graph
# takes it off again: without a base pyld would invent `http://example.org/base/`.
BASE = "feed:/"
PREFIXES = ("dfc-b", "dfc-t", "dfc-m", "dfc-pt", "dfc-f", "dfc-v", "skos", "rdfs")


class ContextRefused(FeedUnreadable):
    """A document named a context we do not ship: we never fetch one (a feed must not make us call anywhere)."""


def _normalise_url(url: str) -> str:
    """https and http, a trailing slash, the host's case: the same context (as the Ruby connector does)."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    host, slash, path = rest.partition("/")
    scheme = "http" if scheme.lower() == "https" else scheme.lower()
    return f"{scheme}://{host.lower()}{slash}{path}".rstrip("/")


@cache
def _context_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONTEXT_DIR / name).read_text(encoding="utf-8"))
    return loaded


def offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:  # noqa: ARG001 (pyld's)
    """pyld's document loader: a known context URL from our files, anything else refused (raises ContextRefused)."""
    name = KNOWN_CONTEXTS.get(_normalise_url(url))
    if name is None:
        raise ContextRefused(f"unknown JSON-LD context {url[:200]!r}: only the shipped DFC and schema.org contexts")
    document = _context_file(name)
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": document}


def _brackets(raw: bytes) -> bytes:
    """The JSON text's brackets alone, strings taken out (a bracket inside a string is text)."""
    return re.sub(rb"[^\[\]{}]+", b"", re.sub(rb'"(?:[^"\\]|\\.)*"', b"", raw))


def _depth(brackets: bytes) -> int:
    return max(accumulate(1 if c in b"[{" else -1 for c in brackets)) if brackets else 0


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in JSON text, counted without parsing it."""
    return _depth(_brackets(raw))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(raw: bytes, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in `raw`, or FeedUnreadable: too big, too deep, not UTF-8, not JSON.

    Numbers with a fraction or exponent are kept as their text (never float: they may be prices); NaN and Infinity
    are refused."""
    if not isinstance(raw, bytes | bytearray):
        raise FeedUnreadable("a feed is bytes")
    if len(raw) > max_bytes:
        raise FeedUnreadable(f"feed is {len(raw)} bytes, more than the limit of {max_bytes}")
    brackets = _brackets(bytes(raw))
    depth = _depth(brackets)
    if depth > max_depth:
        raise FeedUnreadable(f"JSON nested {depth} deep, more than the limit of {max_depth}")
    objects = brackets.count(b"{")
    if objects > MAX_OBJECTS:
        raise FeedUnreadable(f"{objects} JSON objects, more than the limit of {MAX_OBJECTS}")
    try:
        text = bytes(raw).decode("utf-8-sig")
        return json.loads(text, parse_float=str, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedUnreadable(f"not JSON: {str(exc)[:200]}") from None


def _cause(exc: BaseException) -> BaseException | None:
    """The first ContextRefused in pyld's chain of wrapped errors, if any."""
    seen: BaseException | None = exc
    for _ in range(20):
        if seen is None or isinstance(seen, ContextRefused):
            return seen
        details = getattr(seen, "details", None)
        nested = details.get("cause") if isinstance(details, dict) else None
        seen = nested if isinstance(nested, BaseException) else (getattr(seen, "cause", None) or seen.__cause__)
    return None


def expand(document: Any) -> list[Any]:
    """pyld's expansion with our offline loader; FeedUnreadable if it is not JSON-LD (ContextRefused for a context
    we do not ship)."""
    try:
        options = {"documentLoader": offline_loader, "base": BASE}
        expanded = jsonld.expand(document, options)  # type: ignore[arg-type]
    except jsonld.JsonLdError as exc:
        refused = _cause(exc)
        if isinstance(refused, ContextRefused):
            raise refused from None
        raise FeedUnreadable(f"not valid JSON-LD: {str(exc).splitlines()[0][:200]}") from None
    except ContextRefused:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        # pyld assumes well-formed input in places; a hostile document must still end as "unreadable".
        raise FeedUnreadable(f"not valid JSON-LD: {type(exc).__name__}") from None
    return expanded if isinstance(expanded, list) else [expanded]


@cache
def namespaces() -> tuple[tuple[str, str], ...]:
    """(namespace IRI, prefix), longest first: every version's DFC namespaces from the shipped contexts, schema.org."""
    pairs: dict[str, str] = {}
    for name in (DFC_V1, DFC_V2):
        for term, value in _context_file(name)["@context"].items():
            if term in PREFIXES and isinstance(value, str):
                pairs[value] = term
    for prefix, iris in EXTRA_NAMESPACES.items():
        for iri in iris:
            pairs[iri] = prefix
    return tuple(sorted(pairs.items(), key=lambda pair: -len(pair[0])))


def compact_iri(iri: str) -> str:
    """`https://github.com/…/DFC_BusinessOntology.owl#name` -> `dfc-b:name`; unknown IRIs stay whole."""
    for namespace, prefix in namespaces():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def local_name(iri: str) -> str:
    """The last part of an IRI or compact IRI: `dfc-f:Switzerland` -> "Switzerland"."""
    return re.split(r"[#/:]", iri.rstrip("/#"))[-1]


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, bool (numbers with a fraction arrive as str: see load_json)
    language: str = ""


@dataclass(frozen=True)
class Ref:
    id: str


Value = Literal | Ref


@dataclass
class Node:
    id: str
    types: set[str] = field(default_factory=set)
    props: dict[str, list[Value]] = field(default_factory=dict)

    def values(self, prop: str) -> list[Value]:
        return self.props.get(prop, [])

    def literals(self, prop: str) -> list[Literal]:
        return [v for v in self.values(prop) if isinstance(v, Literal)]

    def ids(self, prop: str) -> list[str]:
        """Links: references, and plain strings (some link properties, such as DFC's `offeredItem`, are not
        declared as IRIs in the context, so a platform's link arrives as a string)."""
        return [v.id if isinstance(v, Ref) else v.value for v in self.values(prop)
                if isinstance(v, Ref) or (isinstance(v.value, str) and v.value.strip())]  # fmt: skip


class Graph:
    """Every node of an expanded document, embedded ones too, by id (blank nodes without one get one)."""

    def __init__(self, expanded: list[Any]) -> None:
        self.nodes: dict[str, Node] = {}
        self._blank = 0
        self._reverse: dict[str, dict[str, list[Node]]] = {}
        for element in expanded:
            self._node(element)

    def _node(self, obj: dict[str, Any]) -> str:
        node_id = _unbase(obj.get("@id"))
        if not node_id:
            self._blank += 1
            node_id = f"_:feed-{self._blank}"
        node = self.nodes.setdefault(node_id, Node(node_id))  # the same @id twice: one node, properties merged
        node.types.update(compact_iri(t) for t in obj.get("@type", []) if isinstance(t, str))
        for key, items in obj.items():
            if key == "@graph":
                for element in items:
                    self._node(element)
            elif not key.startswith("@") and isinstance(items, list):
                node.props.setdefault(compact_iri(key), []).extend(self._values(items))
        return node_id

    def _values(self, items: list[Any]) -> Iterator[Value]:
        for item in items:
            if not isinstance(item, dict):
                continue
            if "@list" in item or "@set" in item:
                yield from self._values(item.get("@list", item.get("@set", [])))
            elif "@value" in item:
                language = item.get("@language")
                yield Literal(item["@value"], language.lower() if isinstance(language, str) else "")
            elif set(item) == {"@id"}:
                iri = _unbase(item["@id"])
                yield Ref(compact_iri(iri) if _is_vocab(iri) else iri)
            else:
                yield Ref(self._node(item))

    def get(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def of_type(self, *types: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.types.intersection(types)]

    def linked(self, node: Node, prop: str) -> list[Node]:
        return [self.nodes[i] for i in node.ids(prop) if i in self.nodes]

    def linking(self, prop: str, target: str) -> list[Node]:
        """The nodes whose `prop` links to `target` (the reverse of `linked`), from an index built once per prop."""
        index = self._reverse.get(prop)
        if index is None:
            index = self._reverse[prop] = {}
            for node in self.nodes.values():
                for linked_id in node.ids(prop):
                    index.setdefault(linked_id, []).append(node)
        return index.get(target, [])


def first(values: Sequence[T], default: D) -> T | D:
    return values[0] if values else default


def _unbase(iri: Any) -> str:
    if not isinstance(iri, str):
        return ""
    return iri[len(BASE) :] if iri.startswith(BASE) else iri


def _is_vocab(iri: str) -> bool:
    """A reference to a vocabulary concept (a unit, a facet, an availability): kept compact, like a type."""
    return compact_iri(iri) != iri


def read_graph(raw: bytes, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Graph:
    """Bytes -> checked JSON -> expanded JSON-LD -> Graph; FeedUnreadable on the way if anything is wrong."""
    document = load_json(raw, max_bytes, max_depth)
    if not isinstance(document, dict | list):
        raise FeedUnreadable("a JSON-LD feed is an object or an array")
    graph = Graph(expand(document))
    log.debug("JSON-LD feed read: %s nodes", len(graph.nodes))
    return graph


# --- helpers of the readers and writers ---------------------------------------------------------------------------


class ItemError(ValueError):
    """One item cannot be read; becomes a FeedProblem, the rest of the feed is still read."""


def decimal_of(value: Any, what: str) -> Decimal:
    """A literal's number as a Decimal (never float); ItemError for anything else, or an absurd size."""
    raw = value.value if isinstance(value, Literal) else None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ItemError(f"{what} is not a number")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ItemError(f"{what} {str(raw)[:40]!r} is not a number") from None
    if not number.is_finite() or abs(number) > Decimal(10) ** 9:
        raise ItemError(f"{what} {str(raw)[:40]!r} is not a usable number")
    return number


def texts_of(node: Node, prop: str, default_language: str, limit: int) -> dict[str, str]:
    """A property's texts by language (untagged ones in `default_language`), spaces collapsed, at most `limit`
    characters; ItemError when one is not text."""
    texts: dict[str, str] = {}
    for literal in node.literals(prop):
        if not isinstance(literal.value, str):
            raise ItemError(f"{local_name(prop)} is not text")
        text = " ".join(literal.value.split())
        if len(text) > limit:
            raise ItemError(f"{local_name(prop)} longer than {limit} characters")
        if text:
            texts.setdefault((literal.language or default_language)[:2], text)
    return texts


def language_values(texts: Mapping[str, str], languages: Sequence[str] | None) -> Any:
    """One language: a plain string (what single-language platforms expect); several: language-tagged values."""
    chosen = [(lang, texts[lang]) for lang in (languages or texts) if texts.get(lang)]
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0][1]
    return [{"@value": text, "@language": lang} for lang, text in chosen]
