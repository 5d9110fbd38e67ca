"""Sentence resolver benchmark: the product meant by a whole shopper sentence, on the demo catalog and at 100,000
products.

    .venv/bin/python -m bench.resolve [--products 100000] [--sentences 300]

On the demo catalog (SQLite in a temporary folder) it times `resolve_in_sentence` end to end (name table, ranking,
current offer from the database) over realistic requests in four languages, with the word caches cleared before
each sentence (cold) and kept (warm, as in a running action server), and `split_shopping_list`. On the synthetic
catalog of `bench.search` it times building the name table and ranking shopper-like sentences in memory (the
database look-up of at most a dozen products, timed on the demo catalog, comes on top). Prints figures; asserts
nothing.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Annotated

import typer

from bench.common import demo_marketplace
from bench.search import synthetic_catalog, synthetic_queries
from catalog.resolve import (
    NamedProduct,
    NameTable,
    name_table,
    resolve_in_sentence,
    sentence_words,
    split_shopping_list,
)
from catalog.search import SearchIndex
from catalog.services import CatalogSearch

# Requests as customers type them, with the quantities, fillers, typos and shared words of real chats.
SENTENCES = [
    ("fr", "ajoute 800 g de fromage à raclette"),
    ("fr", "un kilo et demi de pommes gala"),
    ("fr", "mets-moi 2 kg de pommes de terre"),
    ("fr", "je prends 3 baguettes"),
    ("fr", "4 bières blanches"),
    ("fr", "2 pots de miel de forêt"),
    ("fr", "miel de fleurs 250 g"),
    ("fr", "un pain complet"),
    ("fr", "3 jus de pomme"),
    ("fr", "2 bouteilles de jus de pomme et coing"),
    ("fr", "du gruyère"),
    ("fr", "une douzaine d'oeufs"),
    ("fr", "2 kg de pomes de tere"),
    ("fr", "confiture de cerises"),
    ("fr", "un fromage"),
    ("fr", "ajoute s'il vous plaît 2 tommes aux herbes"),
    ("de", "Bitte 500 Gramm Raclettekäse"),
    ("de", "füge 2 Flaschen Apfelsaft hinzu"),
    ("de", "2 kg Kartoffeln"),
    ("de", "ich hätte gern 2 Gläser Waldhonig"),
    ("de", "6 Flaschen Helles Bier"),
    ("de", "250 g Butter"),
    ("de", "2 Raclette Käse"),
    ("de", "ein Vollkornbrott"),
    ("de", "ich möchte 1 kg Tomaten"),
    ("de", "Honig"),
    ("it", "vorrei 3 baguette"),
    ("it", "2 kg di patate"),
    ("it", "un chilo di mele gala"),
    ("it", "due bottiglie di succo di mela"),
    ("it", "formaggio per raclette"),
    ("it", "500 g di miele di bosco"),
    ("it", "2 cornetti al burro"),
    ("it", "mezzo chilo di fragole"),
    ("it", "pomodori"),
    ("en", "I'd like two loaves of sourdough bread"),
    ("en", "put 1.5 kg of gala apples in my basket"),
    ("en", "add 6 wheat beers"),
    ("en", "a jar of forest honey"),
    ("en", "three bottles of apple juice"),
    ("en", "a dozen free-range eggs"),
    ("en", "200g of mild gruyere"),
    ("en", "a pack of ground coffee"),
    ("en", "2 bagettes"),
    ("en", "honey"),
    ("en", "cherry jam"),
]
LISTS = [
    ("fr", "2 baguettes et 6 croissants"),
    ("en", "a kilo of carrots, a kilo of leeks and a cauliflower"),
    ("fr", "1 kg de pommes, 2 l de lait et du pain"),
    ("fr", "- 2 baguettes\n- 1 kg de carottes\n- du miel de forêt"),
    ("de", "Bitte 500 Gramm Raclettekäse und 2 Flaschen Apfelsaft"),
    ("fr", "2 bouteilles de jus de pomme et coing"),
    ("fr", "un kilo et demi de pommes gala"),
]
# Shopper phrasings wrapped around the synthetic catalog's queries.
TEMPLATES = [
    "ajoute 2 kg de {}",
    "I'd like 3 {}",
    "bitte 500 g {}",
    "vorrei 2 {}",
    "{}",
    "mets-moi un {} s'il te plaît",
    "put 2 {} in my basket",
]


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def timed(calls: list[Callable[[], object]], before: Callable[[], None] | None = None) -> tuple[float, float]:
    samples = []
    for call in calls:
        if before:
            before()
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def demo_figures(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _, db = demo_marketplace(folder)
        search = CatalogSearch()
        with db.uow() as uow:
            start = time.perf_counter()
            search.index(uow)
            index_build = time.perf_counter() - start
            start = time.perf_counter()
            table = name_table(uow, search)
            table_build = time.perf_counter() - start
            index = search.index(uow)
            print(f"demo catalog: {len(table)} products; {len(SENTENCES)} sentences x {repeat}")
            print(f"build: search index {index_build * 1000:.0f} ms, name table {table_build * 1000:.0f} ms")

            def clear() -> None:
                index._matches.cache_clear()
                table._word_cache.clear()

            calls = [
                (lambda lang=lang, text=text: resolve_in_sentence(uow, search, text, lang, goods_wanted=True))
                for _ in range(repeat)
                for lang, text in SENTENCES
            ]
            p50, p95 = timed(calls, clear)
            print(f"resolve_in_sentence, cold word caches: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
            p50, p95 = timed(calls)
            print(f"resolve_in_sentence, warm (a running action server): p50 {p50:.2f} ms, p95 {p95:.2f} ms")
            lists = [
                (lambda lang=lang, text=text: split_shopping_list(text, lang, catalog=table))
                for _ in range(repeat)
                for lang, text in LISTS
            ]
            p50, p95 = timed(lists)
            print(f"split_shopping_list with the catalog: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
        db.dispose()


def synthetic_figures(count: int, sentences: int) -> None:
    products = synthetic_catalog(count)
    rows = [NamedProduct(p.id, p.names, p.category, "piece", p.labels, p.vendor_id, p.vendor_name) for p in products]
    start = time.perf_counter()
    index = SearchIndex(products)
    index_build = time.perf_counter() - start
    start = time.perf_counter()
    table = NameTable(rows)
    table_build = time.perf_counter() - start
    rng = random.Random(11)
    texts = [rng.choice(TEMPLATES).format(query) for query in synthetic_queries(sentences)]
    print(f"synthetic catalog: {count:,} products; {len(texts)} shopper sentences")
    print(f"build: search index {index_build:.2f} s, name table {table_build:.2f} s")

    def clear() -> None:
        index._matches.cache_clear()
        table._word_cache.clear()

    calls = [(lambda text=text: table.rank(index, sentence_words(text), "fr")) for text in texts]
    p50, p95 = timed(calls, clear)
    print(f"ranking in memory, cold word caches: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    p50, p95 = timed(calls)
    print(f"ranking in memory, warm: p50 {p50:.2f} ms, p95 {p95:.2f} ms")


def main(
    products_count: Annotated[int, typer.Option("--products", help="Synthetic products (0: skip).")] = 100_000,
    sentences: Annotated[int, typer.Option(help="Shopper sentences timed on the synthetic catalog.")] = 300,
    repeat: Annotated[int, typer.Option(help="Passes over the demo sentences.")] = 5,
) -> None:
    """Time the sentence resolver on the demo catalog and on a synthetic catalog."""
    demo_figures(repeat)
    if products_count:
        synthetic_figures(products_count, sentences)


if __name__ == "__main__":
    typer.run(main)
