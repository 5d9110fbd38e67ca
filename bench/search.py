"""Search benchmark: latency at 100,000 products, recall@3 on the demo catalog, pg_trgm baseline.

    .venv/bin/python -m bench.search [--products 100000] [--queries 300] [--pg postgresql+psycopg://...]

Prints figures; asserts nothing. With --pg (or DATABASE_URL pointing to PostgreSQL) it times the same
queries with pg_trgm word similarity over the same documents, in a throw-away schema.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import tomllib
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine, insert, text

from catalog.models import Product
from catalog.search import IndexedProduct, SearchIndex
from catalog.services import CatalogSearch, bump_revision
from catalog.taxonomy import categories
from catalog.text import fold
from demo import load_demo
from marketplace import migrate
from marketplace.accounts import OrganisationKind, add_organisation
from marketplace.db import Database

HERE = Path(__file__).resolve().parent

# (fr, en, de, it, category): the nouns of the synthetic catalog.
NOUNS = [
    ("tomate", "tomato", "tomate", "pomodoro", "vegetables"),
    ("carotte", "carrot", "karotte", "carota", "vegetables"),
    ("courgette", "zucchini", "zucchetti", "zucchina", "vegetables"),
    ("poireau", "leek", "lauch", "porro", "vegetables"),
    ("salade", "lettuce", "salat", "insalata", "vegetables"),
    ("pomme", "apple", "apfel", "mela", "fruit"),
    ("poire", "pear", "birne", "pera", "fruit"),
    ("cerise", "cherry", "kirsche", "ciliegia", "fruit"),
    ("fraise", "strawberry", "erdbeere", "fragola", "fruit"),
    ("fromage", "cheese", "kase", "formaggio", "cheese"),
    ("tomme", "tomme", "tomme", "toma", "cheese"),
    ("yaourt", "yoghurt", "joghurt", "yogurt", "dairy"),
    ("beurre", "butter", "butter", "burro", "dairy"),
    ("pain", "bread", "brot", "pane", "bakery"),
    ("croissant", "croissant", "gipfeli", "cornetto", "bakery"),
    ("saucisse", "sausage", "wurst", "salsiccia", "charcuterie"),
    ("jambon", "ham", "schinken", "prosciutto", "charcuterie"),
    ("miel", "honey", "honig", "miele", "honey"),
    ("vin", "wine", "wein", "vino", "wine"),
    ("biere", "beer", "bier", "birra", "beer"),
    ("jus", "juice", "saft", "succo", "drinks"),
    ("farine", "flour", "mehl", "farina", "grocery"),
    ("lentilles", "lentils", "linsen", "lenticchie", "grocery"),
    ("savon", "soap", "seife", "sapone", "household"),
]
ADJECTIVES = [
    ("bio", "organic", "bio", "bio"),
    ("fermier", "farm", "bauern", "contadino"),
    ("frais", "fresh", "frisch", "fresco"),
    ("de saison", "seasonal", "saisonal", "di stagione"),
    ("artisanal", "craft", "handwerklich", "artigianale"),
    ("fume", "smoked", "geraucht", "affumicato"),
    ("doux", "mild", "mild", "dolce"),
    ("rouge", "red", "rot", "rosso"),
    ("blanc", "white", "weiss", "bianco"),
    ("complet", "wholemeal", "vollkorn", "integrale"),
]
PLACES = ["Troinex", "Satigny", "Meinier", "Bernex", "Jussy", "Dardagny", "Lully", "Perly", "Veyrier", "Aire-la-Ville"]
LANGS = ("fr", "en", "de", "it")


SYLLABLES = [c + v for c in "bdfglmnprstv" for v in "aeio"]


def cultivar(rng: random.Random) -> str:
    """A made-up variety name ("Lomaveri"), so the vocabulary is as large as a real catalog's."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def synthetic_catalog(n: int, seed: int = 42) -> list[IndexedProduct]:
    rng = random.Random(seed)
    vendors = [f"{kind} {place} {i}" for i, (kind, place) in enumerate(
        (rng.choice(["Ferme", "Domaine", "Atelier", "Maison", "Coop"]), rng.choice(PLACES)) for _ in range(800)
    )]  # fmt: skip
    products = []
    for pid in range(1, n + 1):
        noun = rng.choice(NOUNS)
        adjective = rng.choice(ADJECTIVES)
        variety = f"{rng.choice(PLACES)} {cultivar(rng)}"
        names = {lang: f"{noun[i].capitalize()} {adjective[i]} {variety}" for i, lang in enumerate(LANGS)}
        labels = rng.sample(["organic", "grta", "vegan", "aop", "fair_trade"], rng.randint(0, 2))
        vendor = rng.randrange(len(vendors))
        products.append(IndexedProduct(pid, names, noun[4], labels, vendor + 1, vendors[vendor]))
    return products


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return rng.choice(
        [word[:i] + word[i + 1 :], word[:i] + word[i] + word[i:], word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]]
    )


def synthetic_queries(count: int, seed: int = 7) -> list[str]:
    """Shopper-like queries: a noun in any language, often an adjective or place, sometimes a typo or a category."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        lang = rng.randrange(4)
        noun = rng.choice(NOUNS)[lang]
        roll = rng.random()
        if roll < 0.3:
            query = typo(noun, rng)
        elif roll < 0.6:
            query = f"{noun} {rng.choice(ADJECTIVES)[lang]}"
        elif roll < 0.8:
            query = f"{typo(noun, rng)} {rng.choice(PLACES).lower()}"
        else:
            query = rng.choice(list(categories().values())).names[LANGS[lang]]
        queries.append(query)
    return queries


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def time_index(index: SearchIndex, queries: list[str]) -> tuple[float, float]:
    samples = []
    for query in queries:
        index._matches.cache_clear()  # cold: no help from earlier queries' vocabulary look-ups
        start = time.perf_counter()
        index.search(query, limit=10)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def document(p: IndexedProduct) -> str:
    """The text pg_trgm searches: the same fields our index uses, folded the same way."""
    category = categories()[p.category]
    return fold(" ".join([*p.names.values(), *category.names.values(), p.vendor_name, *p.labels]))


def time_pg_trgm(url: str, products: list[IndexedProduct], queries: list[str]) -> tuple[float, float, float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema},public"})
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text("CREATE TABLE docs (id integer PRIMARY KEY, doc text NOT NULL)"))
            conn.execute(
                text("INSERT INTO docs (id, doc) VALUES (:id, :doc)"),
                [{"id": p.id, "doc": document(p)} for p in products],
            )
            start = time.perf_counter()
            conn.execute(text("CREATE INDEX docs_trgm ON docs USING gin (doc gin_trgm_ops)"))
            build = time.perf_counter() - start
            conn.execute(text("ANALYZE docs"))
        samples = []
        with engine.connect() as conn:
            sql = text("SELECT id FROM docs WHERE :q <% doc ORDER BY word_similarity(:q, doc) DESC, id LIMIT 10")
            for query in queries:
                start = time.perf_counter()
                conn.execute(sql, {"q": fold(query)}).all()
                samples.append((time.perf_counter() - start) * 1000)
        p50, p95 = percentiles(samples)
        return p50, p95, build
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def recall_at_3(db: Database) -> tuple[float, list[str]]:
    relevance = tomllib.loads((HERE / "relevance.toml").read_text(encoding="utf-8"))["query"]
    search = CatalogSearch()
    misses = []
    with db.uow() as uow:
        for case in relevance:
            found = [
                f"{r.product.vendor_slug}/{r.product.sku}"
                for r in search.search(uow, case["text"], case["lang"], limit=3)
            ]
            if not set(found) & set(case["expected"]):
                misses.append(f"{case['text']!r} -> {found}")
    return 1 - len(misses) / len(relevance), misses


def time_service(db: Database, products: list[IndexedProduct], queries: list[str]) -> tuple[float, float, float]:
    """The full service path (index + current price/stock from the database) on a SQLite file."""
    with db.uow() as uow:
        vendor = add_organisation(uow, "bench-vendor", "Bench", OrganisationKind.PRODUCER)
        uow.commit()
    common = {"descriptions": {}, "kind": "good", "unit": "piece", "price_chf": Decimal("4.50")}
    common |= {"vat_class": "reduced", "stock": Decimal(5), "source": "bench", "vendor_id": vendor.id}
    rows = [
        {**common, "sku": f"S{p.id}", "external_id": str(p.id), "names": p.names, "category": p.category}
        | {"labels": list(p.labels)}
        for p in products
    ]
    with db.uow() as uow:
        uow.session.execute(insert(Product), rows)
        bump_revision(uow)
        uow.commit()
    search = CatalogSearch()
    with db.uow() as uow:
        start = time.perf_counter()
        search.index(uow)
        build = time.perf_counter() - start
        samples = []
        for query in queries:
            start = time.perf_counter()
            search.search(uow, query, "fr", limit=10)
            samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentiles(samples)
    return p50, p95, build


def main(
    products_count: Annotated[int, typer.Option("--products", help="Synthetic products in the index.")] = 100_000,
    queries_count: Annotated[int, typer.Option("--queries", help="Shopper-like queries timed.")] = 300,
    pg: Annotated[str, typer.Option(help="PostgreSQL URL for the pg_trgm baseline (default: DATABASE_URL).")] = "",
) -> None:
    """Search latency at 100,000 products, recall@3 on the demo catalog, and a pg_trgm baseline."""
    default_pg = os.environ.get("DATABASE_URL", "")
    pg = pg or (default_pg if default_pg.startswith("postgresql") else "")
    products = synthetic_catalog(products_count)
    queries = synthetic_queries(queries_count)
    start = time.perf_counter()
    index = SearchIndex(products)
    build = time.perf_counter() - start
    p50, p95 = time_index(index, queries)
    print(
        f"catalog: {len(products):,} synthetic products, {len(index._vocab):,} distinct tokens; {len(queries)} queries"
    )
    print(f"index build: {build:.2f} s")
    print(f"index search (cold token cache): p50 {p50:.2f} ms, p95 {p95:.2f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.sqlite3")
        migrate.upgrade(db)
        with db.uow() as uow:
            load_demo(uow)
            uow.commit()
        recall, misses = recall_at_3(db)
        cases = len(tomllib.loads((HERE / "relevance.toml").read_text(encoding="utf-8"))["query"])
        print(f"recall@3 on the demo catalog: {recall:.1%} of {cases} queries")
        for miss in misses:
            print(f"  miss: {miss}")
        s50, s95, sbuild = time_service(db, products, queries)
        print(f"service search on SQLite (index + live price/stock): p50 {s50:.2f} ms, p95 {s95:.2f} ms"
              f" (index built from the database in {sbuild:.2f} s)")  # fmt: skip
        db.dispose()

    if pg:
        g50, g95, gbuild = time_pg_trgm(pg, products, queries)
        print(f"pg_trgm word_similarity baseline: p50 {g50:.2f} ms, p95 {g95:.2f} ms (GIN index build {gbuild:.2f} s)")
        print(f"ratio pg_trgm / our index: p50 x{g50 / p50:.1f}, p95 x{g95 / p95:.1f}")
    else:
        print("pg_trgm baseline skipped: pass --pg postgresql+psycopg://... or set DATABASE_URL")


if __name__ == "__main__":
    typer.run(main)
