"""`admin_cli.py source …` and `catalog export` as an admin types them, and the read-only catalog endpoint of the
bot process (bot/catalog_http.py): who may see what, which methods, caching."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

import catalog.sync
from bot.catalog_http import DFC_PATH, SCHEMA_ORG_PATH, CatalogHttp, CatalogSyncJob, catalog_services
from catalog.feeds.items import Feed, FeedItem
from catalog.models import Product
from catalog.sources import add_source, get_source
from marketplace.accounts import OrganisationKind, add_organisation
from tests.conftest import make_product
from tests.integration.test_admin_cli import cli, lines  # noqa: F401 - the command line on a throw-away database

D = Decimal
FEED = Feed(items=[
    FeedItem("https://farm.example/ci/1", "", {"fr": "Pommes Gala"}, category_word="fruit", unit="kg",
             price_chf=D("4.20"), stock=D(20), sku="GALA"),
    FeedItem("https://farm.example/ci/2", "", {"fr": "Poires"}, category_word="fruit", unit="kg",
             price_chf=D("5.10"), stock=D(8), sku="POI"),
])  # fmt: skip


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Feed]:
    """The feed file's bytes are read for real; what they mean is the Feed in `feed["now"]`."""
    current = {"now": FEED}
    monkeypatch.setattr(catalog.sync, "parse_feed", lambda _format, _raw, _options=None: current["now"])
    (tmp_path / "feed.jsonld").write_text("{}", encoding="utf-8")
    return current


def test_an_admin_registers_previews_syncs_and_lists_a_source(cli, feed, tmp_path):  # noqa: F811
    assert cli("vendor", "add", "verger-test", "--name", "Verger Test", "--kind", "producer")[0] == 0
    code, out = cli("source", "add", "verger", "--vendor", "verger-test", "--format", "dfc",
                    "--url", str(tmp_path / "feed.jsonld"), "--every", "6h")  # fmt: skip
    assert code == 0 and "Source verger added for verger-test (dfc, every 6h)." in out
    code, out = cli("source", "sync", "verger", "--dry-run")
    assert code == 0
    assert "verger: dry run: nothing written" in out and "+ verger-test/GALA Pommes Gala" in out
    code, out = cli("source", "sync")
    assert code == 0 and "verger: applied" in out and "2 added" in out
    feed["now"] = Feed(items=[FEED.items[0].__class__(**{**FEED.items[0].__dict__, "price_chf": D("4.60")})])
    code, out = cli("source", "sync", "verger", "--dry-run")
    assert "~ verger-test/GALA Pommes Gala" in out and "price_chf: '4.2' -> '4.6'" in out
    assert "- verger-test/POI Poires" in out
    code, out = cli("source", "sync", "verger")
    assert code == 0 and "1 changed, 1 withdrawn" in out
    assert cli("source", "sync", "verger")[1].count("nothing to change") == 1
    code, out = cli("source", "list")
    assert "verger" in out and "every" not in out.split("Catalog sources")[0]
    assert "unchanged" in out and "6h" in out and "active" in out
    assert cli("source", "pause", "verger")[0] == 0
    assert "paused" in cli("source", "list")[1]


def test_a_refused_feed_exits_non_zero_and_says_which_items(cli, feed, tmp_path):  # noqa: F811
    cli("vendor", "add", "verger-test", "--name", "Verger Test", "--kind", "producer")
    cli("source", "add", "verger", "--vendor", "verger-test", "--format", "dfc", "--url", str(tmp_path / "feed.jsonld"))
    feed["now"] = Feed(items=[FeedItem("https://farm.example/ci/1", "", {"fr": "Pommes"}, unit="barrel")])
    code, out = cli("source", "sync", "verger")
    assert code == 1 and "refused: nothing changed" in out and "https://farm.example/ci/1: unknown unit 'barrel'" in out
    code, out = cli("source", "sync", "nope")
    assert code == 1 and "cannot find the catalog source" in out
    code, out = cli("source", "add", "bad", "--vendor", "verger-test", "--format", "dfc", "--url", "ftp://x.example/")
    assert code == 1


def test_an_unreachable_location_is_reported_not_raised(cli, tmp_path):  # noqa: F811
    cli("vendor", "add", "verger-test", "--name", "Verger Test", "--kind", "producer")
    cli("source", "add", "verger", "--vendor", "verger-test", "--format", "dfc", "--url", str(tmp_path / "gone.json"))
    code, out = cli("source", "sync", "verger")
    assert code == 1 and "not fetched: nothing changed" in out and "cannot read gone.json" in out
    assert "failed" in cli("source", "list")[1]


# --- the published catalog --------------------------------------------------------------------------


@pytest.fixture
def published(app):  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        add_organisation(uow, "ferme-pub", "Ferme Publiée", OrganisationKind.PRODUCER)
        add_organisation(uow, "ferme-attente", "Ferme en attente", OrganisationKind.PRODUCER, pending=True)
        make_product(uow, "ferme-pub", "MIEL", "Miel de fleurs", "14.00", category="honey")
        make_product(uow, "ferme-pub", "OLD", "Ancien", "1.00", available=False)
        make_product(uow, "ferme-attente", "SECRET", "Pas encore", "3.00")
        uow.commit()
    return CatalogHttp(app, base_url="https://marche.example")


def get(service: CatalogHttp, path: str, method: str = "GET", **headers: str):  # type: ignore[no-untyped-def]
    async def scenario():  # type: ignore[no-untyped-def]
        async with TestClient(TestServer(service.web_app())) as client:
            response = await client.request(method, path, headers=headers)
            return response.status, await response.read(), response.headers.copy()

    return asyncio.run(scenario())


def test_the_catalog_endpoint_publishes_only_approved_vendors_available_products(published):
    status, body, headers = get(published, DFC_PATH)
    assert status == 200 and headers["Content-Type"].startswith("application/ld+json")
    text = body.decode()
    assert "Miel de fleurs" in text and "Ancien" not in text and "Pas encore" not in text
    assert "https://marche.example/" in text
    status, body, _ = get(published, "/api/dfc/enterprises/ferme-pub/catalog.jsonld")
    assert status == 200 and "Miel de fleurs" in body.decode()
    for hidden in ("ferme-attente", "nobody", "..%2F..%2Fetc"):
        status, body, _ = get(published, f"/api/dfc/enterprises/{hidden}/catalog.jsonld")
        assert status == 404 and b"Pas encore" not in body


def test_the_catalog_endpoint_is_read_only(published):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, _, _ = get(published, DFC_PATH, method)
        assert status == 405
    assert (get(published, DFC_PATH, "HEAD"))[0] == 200


def test_documents_are_cached_until_the_catalog_moves_and_answer_if_none_match(published, app):
    _, first, headers = get(published, DFC_PATH)
    etag = headers["ETag"]
    assert (get(published, DFC_PATH, **{"If-None-Match": etag}))[0] == 304
    with app.db.uow() as uow:
        uow.session.scalar(select(Product).where(Product.sku == "MIEL")).price_chf = D("15.00")
        uow.commit()
    status, body, headers = get(published, DFC_PATH, **{"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag and body != first


def test_schema_org_is_published_too(published):
    status, body, _ = get(published, SCHEMA_ORG_PATH)
    assert status == 200 and "Miel de fleurs" in body.decode() and "Pas encore" not in body.decode()
    json.loads(body)


def test_the_bot_process_publishes_only_when_a_port_is_given(app):
    assert [type(s) for s in catalog_services(app, {})] == [CatalogSyncJob]
    services = catalog_services(app, {"CATALOG_HTTP_PORT": "8099", "CATALOG_PUBLIC_URL": "https://m.example/"})
    assert [type(s) for s in services] == [CatalogSyncJob, CatalogHttp]
    assert services[1].port == 8099 and services[1].base_url == "https://m.example"


def test_the_scheduled_job_syncs_due_sources_and_records_the_outcome(app, tmp_path, monkeypatch):
    monkeypatch.setattr(catalog.sync, "parse_feed", lambda _format, _raw, _options=None: FEED)
    (tmp_path / "feed.jsonld").write_text("{}", encoding="utf-8")
    with app.db.uow() as uow:
        add_organisation(uow, "verger-test", "Verger Test", OrganisationKind.PRODUCER)
        add_source(uow, "verger", "verger-test", "dfc", str(tmp_path / "feed.jsonld"), "6h")
        add_source(uow, "by-hand", "verger-test", "dfc", str(tmp_path / "other.jsonld"))
        uow.commit()
    reports = asyncio.run(CatalogSyncJob(app).run_once())
    assert [(r.source, r.outcome) for r in reports] == [("verger", "applied")]
    assert asyncio.run(CatalogSyncJob(app).run_once()) == []  # next time in 6 hours
    with app.db.uow() as uow:
        assert get_source(uow, "verger").last_counts["added"] == 2
        assert get_source(uow, "by-hand").last_run_at is None


def test_an_admin_exports_a_vendors_orders_as_dfc(cli, tmp_path):  # noqa: F811
    from bootstrap import build_app
    from checkout.services import DeliveryChoice, add_to_basket, place_order
    from marketplace.accounts import person_for_chat

    cli("vendor", "add", "verger-test", "--name", "Verger Test", "--kind", "producer")
    cli("vendor", "add", "autre-test", "--name", "Autre Test", "--kind", "producer")
    app = build_app()
    try:
        with app.db.uow() as uow:
            mine = make_product(uow, "verger-test", "GALA", "Pommes Gala", "4.20", unit="kg", category="fruit")
            other = make_product(uow, "autre-test", "SECRET", "Autre chose", "2.00")
            consumer = person_for_chat(uow, "telegram:777")
            add_to_basket(uow, consumer, mine, D(2))
            add_to_basket(uow, consumer, other, D(1))
            number = place_order(uow, app.settings, consumer, DeliveryChoice("delivery", "1205")).number
            uow.commit()
    finally:
        app.close()
    code, out = cli("order", "export", "--vendor", "verger-test", "--output", str(tmp_path / "orders.jsonld"))
    assert code == 0, out
    text = (tmp_path / "orders.jsonld").read_text(encoding="utf-8")
    document = json.loads(text)
    assert "dfc-b:Order" in text and number in text
    assert "Autre chose" not in text and "telegram" not in text  # only its own lines, nothing about the customer
    assert document["@graph"][0]["dfc-b:name"] == "Verger Test"
    assert cli("order", "export", "--vendor", "nobody")[0] == 1


@pytest.mark.parametrize("format", ["dfc", "schema-org"])
def test_our_own_export_synced_into_another_vendor_gives_the_same_catalog_and_then_nothing_to_do(
    cli, tmp_path, format  # noqa: F811
):
    cli("vendor", "add", "ruche-test", "--name", "Ruche Test", "--kind", "producer")
    cli("vendor", "add", "copie-test", "--name", "Copie Test", "--kind", "producer")
    for sku, name, unit, price in (("MIEL", "Miel de forêt", "500 g", "14.00"), ("CIRE", "Bougie", "piece", "9.50")):
        code, out = cli("product", "add", "--vendor", "ruche-test", "--sku", sku, "--name-fr", name, "--category",
                        "honey", "--unit", unit, "--price", price, "--stock", "7", "--labels", "organic")  # fmt: skip
        assert code == 0, out
    feed = tmp_path / f"ruche.{format}.jsonld"
    assert cli("catalog", "export", "--format", format, "--vendor", "ruche-test", "--output", str(feed))[0] == 0
    cli("source", "add", "ruche", "--vendor", "copie-test", "--format", format, "--url", str(feed))
    code, out = cli("source", "sync", "ruche")
    assert code == 0 and "2 added" in out, out
    code, out = cli("source", "sync", "ruche")
    assert "nothing to change" in out, out
    code, out = cli("product", "list", "--vendor", "copie-test")
    assert "copie-test/MIEL" in out and "Miel de forêt" in out and "500 g" in out and "organic" in out
