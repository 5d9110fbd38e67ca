"""The JSON-LD reader's guards: contexts only from the shipped files (never the network), size and nesting limits
checked before any parsing, numbers never read as float."""

from __future__ import annotations

import json
import socket
import time

import pytest

from catalog.feeds import jsonld
from catalog.feeds.dfc import parse_dfc
from catalog.feeds.items import FeedUnreadable
from catalog.feeds.jsonld import ContextRefused, load_json, nesting_depth, offline_loader, read_graph
from catalog.feeds.schema_org import parse_schema_org


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test loudly."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the feed reader tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "https://w3id.org/dfc/ontology/context/context_1.16.0.json",
        "http://w3id.org/dfc/ontology/context/context_1.16.0.json",
        "https://www.datafoodconsortium.org",
        "https://www.datafoodconsortium.org/",
        "https://www.datafoodconsortium.org/wp-content/plugins/wordpress-context-jsonld/context.jsonld",
        "https://w3id.org/dfc/ontology/v2.0.0/context/context_2.0.0.json",
        "https://schema.org",
        "http://schema.org/",
    ],
)
@pytest.mark.usefixtures("no_network")
def test_known_context_urls_are_answered_from_the_shipped_files(url: str) -> None:
    answer = offline_loader(url, {})
    assert answer["documentUrl"] == url
    assert "@context" in answer["document"]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/context.jsonld",  # would download
        "https://w3id.org/dfc/ontology/context/context_9.9.9.json",
        "http://127.0.0.1:8080/context.json",
        "file:///etc/passwd",
        "https://schema.org.evil.example/",
    ],
)
@pytest.mark.usefixtures("no_network")
def test_any_other_context_url_is_refused_without_touching_the_network(url: str) -> None:
    with pytest.raises(ContextRefused):
        offline_loader(url, {})
    document = {"@context": url, "@id": "https://x.example/1", "https://x.example/p": "v"}
    with pytest.raises(ContextRefused):
        read_graph(json.dumps(document).encode())


@pytest.mark.usefixtures("no_network")
def test_a_remote_context_nested_inside_an_inline_one_is_refused_too() -> None:
    document = {"@context": [{"dfc-b": "https://x.example/"}, "https://example.com/ctx.jsonld"], "@id": "a"}
    with pytest.raises(FeedUnreadable):
        parse_dfc(json.dumps(document).encode())


@pytest.mark.usefixtures("no_network")
def test_shipped_contexts_parse_a_document_offline() -> None:
    graph = read_graph(b'{"@context": "https://schema.org", "@type": "Product", "name": "Miel"}')
    (node,) = graph.of_type("schema:Product")
    assert node.literals("schema:name")[0].value == "Miel"


def test_a_feed_above_the_size_limit_is_refused_before_parsing() -> None:
    raw = b'{"@graph": [' + b'{"a": "' + b"x" * (20 * 1024 * 1024) + b'"}]}'
    started = time.monotonic()
    with pytest.raises(FeedUnreadable, match="bytes"):
        parse_dfc(raw)
    assert time.monotonic() - started < 2
    with pytest.raises(FeedUnreadable, match="bytes"):
        parse_schema_org(b"[]", max_bytes=1)


def test_deep_nesting_is_refused_before_json_or_pyld_see_it(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    monkeypatch.setattr(jsonld.json, "loads", lambda *_a, **_k: pytest.fail("json.loads reached"))
    with pytest.raises(FeedUnreadable, match="nested"):
        parse_dfc(raw)
    with pytest.raises(FeedUnreadable, match="nested"):
        parse_schema_org(b'{"a": ' * 100 + b"1" + b"}" * 100)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert nesting_depth(b'{"name": "[[[[{{{{ \\" ]]"}') == 1
    assert nesting_depth(b"[[1], [[2]]]") == 3
    assert nesting_depth(b"42") == 0


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b'{"a": 1', b"\xff\xfe\x00", b'{"price": NaN}', b'{"price": Infinity}', b'"a string"', b"12"],
)
def test_what_is_not_a_json_ld_object_is_unreadable(raw: bytes) -> None:
    with pytest.raises(FeedUnreadable):
        read_graph(raw)


def test_numbers_with_a_fraction_are_never_floats() -> None:
    value = load_json(b'{"price": 0.1, "big": 1e400, "count": 3}')
    assert value == {"price": "0.1", "big": "1e400", "count": 3}


def test_a_json_ld_error_inside_pyld_becomes_unreadable() -> None:
    with pytest.raises(FeedUnreadable):
        read_graph(b'{"@context": {"@version": 2.5}, "@id": "x"}')
    with pytest.raises(FeedUnreadable):
        read_graph(b'{"@context": 42}')


def test_too_many_objects_are_refused_before_pyld_spends_minutes_on_them() -> None:
    raw = b"[" + b",".join([b"{}"] * 250_000) + b"]"
    with pytest.raises(FeedUnreadable, match="objects"):
        parse_dfc(raw)
