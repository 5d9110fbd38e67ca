"""Catalog sync on the database: idempotent upserts keyed by (source, external id), withdrawals that keep past
orders whole, feeds that fail validation changing nothing, stock that respects open orders here, and a sectoral
marketplace's feed filling many vendors. Feeds are built as `Feed` objects: the format readers have their own
tests (tests/unit/test_feeds_*)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from catalog.feeds.items import Feed, FeedEnterprise, FeedItem, FeedProblem
from catalog.models import CatalogRevision, Product
from catalog.sources import (
    SourceNotFound,
    add_source,
    get_source,
    map_enterprise,
    map_word,
    origin_platform,
    remove_source,
    set_paused,
)
from catalog.sync import FeedFetchError, SyncOptions, options_for, sync_all, sync_source
from checkout.models import OrderLine
from checkout.services import DeliveryChoice, add_to_basket, get_order, place_order
from marketplace.accounts import ApprovalStatus, Organisation, OrganisationKind, add_organisation, person_for_chat
from marketplace.errors import InvalidInput
from tests.conftest import make_product
from tests.support.actions import served  # noqa: F401 - the test's marketplace, served to the actions

D = Decimal


def item(external_id: str, name: str = "Pommes Gala", price: str = "4.20", **extra) -> FeedItem:  # type: ignore[no-untyped-def]
    return FeedItem(
        external_id=external_id,
        enterprise_id=extra.pop("enterprise_id", ""),
        names={"fr": name},
        category_word=extra.pop("category_word", "fruit"),
        unit=extra.pop("unit", "kg"),
        price_chf=D(price),
        stock=extra.pop("stock", D(20)),
        **extra,
    )


FARM_FEED = Feed(
    items=[
        item("https://farm.example/ci/1", "Pommes Gala", "4.20", sku="GALA", label_words=("organic",)),
        item("https://farm.example/ci/2", "Poires", "5.10", sku="POI", vat_rate_pct=D("2.6")),
        item("https://farm.example/ci/3", "Jus de pomme", "3.50", sku="JUS", category_word="drinks", unit="75 cl"),
    ]
)


class Feeds:
    """What the source's server answers: the next feed, or an error."""

    def __init__(self, feed: Feed | Exception) -> None:
        self.feed = feed
        self.fetched = 0

    def fetch(self, _source: object) -> bytes:
        self.fetched += 1
        if isinstance(self.feed, Exception):
            raise self.feed
        return b"{}"

    def parse(self, _format: str, _raw: bytes) -> Feed:
        assert isinstance(self.feed, Feed)
        return self.feed


@pytest.fixture
def farm(app):  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        add_organisation(uow, "verger-test", "Verger Test", OrganisationKind.PRODUCER)
        add_source(uow, "verger-dfc", "verger-test", "dfc", "https://farm.example/api/dfc/catalog.jsonld", "6h")
        uow.commit()
    return Feeds(FARM_FEED)


def run(app, feeds: Feeds, name: str = "verger-dfc", **kwargs):  # type: ignore[no-untyped-def]
    options = options_for(app.settings)
    return sync_source(app.db, name, fetcher=feeds.fetch, parser=feeds.parse, options=options, **kwargs)


def products(app, source: str = "verger-dfc") -> dict[str, Product]:  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        rows = {p.sku: p for p in uow.session.scalars(select(Product).where(Product.source == source))}
        uow.session.expunge_all()  # read after the session ends (it rolls back, which would expire them)
        return rows


def revision(app) -> int:  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        return uow.session.scalar(select(CatalogRevision.revision)) or 0


def test_first_sync_adds_every_item_with_its_fields_in_our_terms(app, farm):
    report = run(app, farm)
    assert report.outcome == "applied"
    assert report.plan.counts["added"] == 3
    rows = products(app)
    assert set(rows) == {"GALA", "POI", "JUS"}
    gala = rows["GALA"]
    assert (gala.names, gala.category, gala.unit, gala.price_chf, gala.stock) == (
        {"fr": "Pommes Gala"}, "fruit", "kg", D("4.20"), D(20)
    )
    assert gala.labels == ["organic"] and gala.external_id == "https://farm.example/ci/1"
    assert rows["JUS"].category == "drinks" and rows["JUS"].unit == "75 cl"
    with app.db.uow() as uow:
        source = get_source(uow, "verger-dfc")
        assert (source.last_outcome, source.last_counts["added"]) == ("applied", 3)


def test_repeated_sync_is_a_no_op(app, farm):
    run(app, farm)
    before, moved = products(app), revision(app)
    again = run(app, farm)
    assert again.outcome == "unchanged"
    assert again.plan.is_noop and again.plan.unchanged == 3
    assert revision(app) == moved  # the search index is not rebuilt for nothing
    after = products(app)
    assert {k: (p.id, p.updated_at) for k, p in after.items()} == {k: (p.id, p.updated_at) for k, p in before.items()}


def test_changes_are_shown_field_by_field_and_a_dry_run_writes_nothing(app, farm):
    run(app, farm)
    farm.feed = Feed(items=[replace(FARM_FEED.items[0], price_chf=D("4.60"), names={"fr": "Pommes Gala bio"}),
                            *FARM_FEED.items[1:]])  # fmt: skip
    preview = run(app, farm, dry_run=True)
    assert preview.outcome == "dry-run"
    [changed] = preview.plan.changed
    assert sorted((c.field, c.old, c.new) for c in changed.changes if c.field == "price_chf") == [
        ("price_chf", "4.2", "4.6")
    ]
    assert [(c.old, c.new) for c in changed.changes if c.field == "names"] == [
        ({"fr": "Pommes Gala"}, {"fr": "Pommes Gala bio"})
    ]
    assert len(changed.changes) == 2
    assert products(app)["GALA"].price_chf == D("4.20")
    with app.db.uow() as uow:
        assert get_source(uow, "verger-dfc").last_outcome == "applied"  # a preview is not a run
    assert run(app, farm).outcome == "applied"
    assert products(app)["GALA"].price_chf == D("4.60") and products(app)["GALA"].available


def test_a_withdrawn_product_becomes_unavailable_and_stays_in_old_orders(app, farm):
    run(app, farm)
    gala = products(app)["GALA"]
    with app.db.uow() as uow:
        consumer = person_for_chat(uow, "telegram:555")
        add_to_basket(uow, consumer, gala.id, D(2))
        number = place_order(uow, app.settings, consumer, DeliveryChoice("delivery", "1205")).number
        uow.commit()
    farm.feed = Feed(items=FARM_FEED.items[1:])
    report = run(app, farm)
    assert [w.sku for w in report.plan.withdrawn] == ["GALA"]
    withdrawn = products(app)["GALA"]
    assert withdrawn.id == gala.id and not withdrawn.available  # never deleted
    with app.db.uow() as uow:
        [line] = [line for part in get_order(uow, number).vendor_orders for line in part.lines]
        assert (line.product_id, line.name, line.quantity) == (gala.id, "Pommes Gala", D(2))
    assert run(app, farm).outcome == "unchanged"  # withdrawn once, not again
    farm.feed = FARM_FEED
    back = run(app, farm)
    assert [(c.field, c.new) for c in back.plan.changed[0].changes] == [("available", True)]
    assert products(app)["GALA"].available


def test_a_feed_that_fails_validation_changes_nothing_and_names_the_offending_items(app, farm):
    run(app, farm)
    before = {k: (p.price_chf, p.available, p.names) for k, p in products(app).items()}
    farm.feed = Feed(items=[
        replace(FARM_FEED.items[0], price_chf=D("1.999")),
        replace(FARM_FEED.items[1], unit="barrel"),
        item("https://farm.example/ci/9", "Nouveau", "2.00", sku="NEW"),
    ])  # fmt: skip
    report = run(app, farm)
    assert report.outcome == "invalid"
    assert {p.split(":")[0] for p in report.problems} >= {"https", }
    assert any("ci/1" in p and "price" in p for p in report.problems)
    assert any("ci/2" in p and "unit" in p for p in report.problems)
    assert {k: (p.price_chf, p.available, p.names) for k, p in products(app).items()} == before  # no NEW, no withdrawal
    with app.db.uow() as uow:
        source = get_source(uow, "verger-dfc")
        assert source.last_outcome == "invalid" and any("unit" in p for p in source.last_problems)


def test_a_feed_with_problems_of_its_own_changes_nothing(app, farm):
    farm.feed = Feed(items=FARM_FEED.items, problems=[FeedProblem("x", "wrong type for price")])
    assert run(app, farm).outcome == "invalid"
    assert products(app) == {}


def test_an_unreachable_feed_is_recorded_as_failed(app, farm):
    run(app, farm)
    report = run(app, Feeds(FeedFetchError("HTTP 503")))
    assert report.outcome == "failed" and report.problems == ["HTTP 503"]
    assert all(p.available for p in products(app).values())
    with app.db.uow() as uow:
        assert get_source(uow, "verger-dfc").last_problems == ["HTTP 503"]


def test_stock_is_the_sources_count_less_what_open_orders_here_reserve(app, farm):
    run(app, farm)
    gala = products(app)["GALA"]
    with app.db.uow() as uow:
        consumer = person_for_chat(uow, "telegram:556")
        add_to_basket(uow, consumer, gala.id, D(3))
        place_order(uow, app.settings, consumer, DeliveryChoice("delivery", "1205"))
        uow.commit()
    assert products(app)["GALA"].stock == D(17)  # reserved when ordered
    assert run(app, farm).outcome == "unchanged"  # the source still counts 20, 3 of them ordered here
    farm.feed = Feed(items=[replace(FARM_FEED.items[0], stock=D(2)), *FARM_FEED.items[1:]])
    run(app, farm)
    assert products(app)["GALA"].stock == D(0)  # never below what is reserved, never negative


def test_fields_the_source_does_not_state_stay_as_set_here(app, farm):
    farm.feed = Feed(items=[replace(FARM_FEED.items[0], stock=None)])
    run(app, farm)
    with app.db.uow() as uow:
        product = uow.session.scalar(select(Product).where(Product.sku == "GALA"))
        product.stock = D(7)  # the producer said so in the chat
        uow.commit()
    assert run(app, farm).outcome == "unchanged"
    assert products(app)["GALA"].stock == D(7)


def test_an_unmapped_category_is_imported_to_classify_and_the_source_word_map_classifies_it(app, farm):
    farm.feed = Feed(items=[item("https://farm.example/ci/7", "Vélo révisé", "80.00", sku="VELO",
                                 category_word="bike parts", unit="piece")])  # fmt: skip
    report = run(app, farm)
    assert report.outcome == "applied" and report.plan.to_classify == ["https://farm.example/ci/7"]
    assert products(app)["VELO"].category == "" and not products(app)["VELO"].available
    assert products(app)["VELO"].classify_word == "bike parts"
    assert run(app, farm).outcome == "unchanged"  # still to classify: nothing to do
    with app.db.uow() as uow:
        map_word(uow, app.settings.taxonomy, "verger-dfc", "categories", "bike parts", "household")
        uow.commit()
    again = run(app, farm)
    assert again.plan.to_classify == []
    assert products(app)["VELO"].category == "household" and products(app)["VELO"].available


def test_a_label_without_mapping_is_left_out_with_a_warning(app, farm):
    farm.feed = Feed(items=[replace(FARM_FEED.items[0], label_words=("organic", "demeter-ish"))])
    report = run(app, farm)
    assert report.outcome == "applied" and products(app)["GALA"].labels == ["organic"]
    assert any("demeter-ish" in w for w in report.plan.warnings)


def test_a_product_imported_earlier_by_csv_is_adopted_not_duplicated(app, farm):
    with app.db.uow() as uow:
        old = make_product(uow, "verger-test", "GALA", "Gala", "3.90", "5", category="fruit", unit="kg")
        uow.commit()
    run(app, farm)
    rows = products(app)
    assert rows["GALA"].id == old and rows["GALA"].price_chf == D("4.20")
    with app.db.uow() as uow:
        assert uow.session.scalar(select(func.count(Product.id)).where(Product.sku == "GALA")) == 1


MARKET_FEED = Feed(
    enterprises=[
        FeedEnterprise("https://paysans.example/e/1", "Ferme du Lac", "Versoix"),
        FeedEnterprise("https://paysans.example/e/2", "Fromagerie Neuve", "Jussy"),
        FeedEnterprise("https://paysans.example/e/3", "Cave Test", "Satigny"),
    ],
    items=[
        item("https://paysans.example/ci/1", "Carottes", "3.00", sku="CAR", category_word="vegetables",
             enterprise_id="https://paysans.example/e/1"),
        item("https://paysans.example/ci/2", "Tomme", "9.50", sku="TOM", category_word="cheese", unit="piece",
             enterprise_id="https://paysans.example/e/2"),
        item("https://paysans.example/ci/3", "Gamay", "15.00", sku="GAM", category_word="wine", unit="75 cl",
             enterprise_id="https://paysans.example/e/3", vat_rate_pct=D("8.1")),
    ],
)  # fmt: skip


@pytest.fixture
def market(app):  # type: ignore[no-untyped-def]
    with app.db.uow() as uow:
        add_organisation(uow, "paysans-ge", "Paysans de Genève", OrganisationKind.MARKETPLACE)
        add_organisation(uow, "lac-test", "Lac Test", OrganisationKind.PRODUCER)
        add_organisation(uow, "cave-test", "Cave Test", OrganisationKind.PRODUCER)
        add_source(uow, "paysans", "paysans-ge", "dfc", "https://paysans.example/catalog.jsonld")
        map_enterprise(uow, "paysans", "https://paysans.example/e/1", "lac-test")
        uow.commit()
    return Feeds(MARKET_FEED)


def test_a_marketplace_feed_fills_many_vendors_by_mapping_new_pending_vendors_and_suggestions(app, market):
    report = run(app, market, name="paysans")
    statuses = {e.name: (e.status, e.vendor) for e in report.plan.enterprises}
    assert statuses == {
        "Ferme du Lac": ("mapped", "lac-test"),
        "Fromagerie Neuve": ("new", "fromagerie-neuve"),
        "Cave Test": ("suggested", "cave-test"),  # same name as our vendor: the admin confirms
    }
    rows = products(app, "paysans")
    assert set(rows) == {"CAR", "TOM"}  # the Gamay waits for the confirmation
    with app.db.uow() as uow:
        new = uow.session.scalar(select(Organisation).where(Organisation.slug == "fromagerie-neuve"))
        assert new.status == ApprovalStatus.PENDING  # its products show once an admin approves it
        assert rows["TOM"].vendor_id == new.id
        assert get_source(uow, "paysans").enterprise_map["https://paysans.example/e/2"] == "fromagerie-neuve"
        map_enterprise(uow, "paysans", "https://paysans.example/e/3", "cave-test")
        uow.commit()
    again = run(app, market, name="paysans")
    assert [a.sku for a in again.plan.added] == ["GAM"] and again.plan.counts["new_vendors"] == 0
    assert products(app, "paysans")["GAM"].vat_class == "standard"
    assert run(app, market, name="paysans").outcome == "unchanged"


def test_products_of_a_marketplace_show_its_name_as_their_origin_platform(app, market, farm):
    run(app, market, name="paysans")
    run(app, farm)
    with app.db.uow() as uow:
        carrots = uow.session.scalar(select(Product).where(Product.sku == "CAR"))
        gala = uow.session.scalar(select(Product).where(Product.sku == "GALA"))
        assert origin_platform(uow.session, carrots) == "Paysans de Genève"
        assert origin_platform(uow.session, gala) == ""  # a producer's own feed: no platform in between


def test_registering_checks_names_formats_vendors_and_locations(app, farm):  # noqa: ARG001
    with app.db.uow() as uow:
        for args in [
            ("Bad Name", "verger-test", "dfc", "https://x.example/f"),
            ("csv", "verger-test", "dfc", "https://x.example/f"),  # a reserved products.source value
            ("verger-dfc", "verger-test", "dfc", "https://x.example/f"),  # exists
            ("other", "verger-test", "xml", "https://x.example/f"),
            ("other", "verger-test", "dfc", "ftp://x.example/f"),
            ("other", "verger-test", "dfc", "https://user:pw@x.example/f"),
        ]:
            with pytest.raises(InvalidInput):
                add_source(uow, *args)
        with pytest.raises(InvalidInput):
            add_source(uow, "other", "verger-test", "dfc", "https://x.example/f", every="5m")  # too often
        with pytest.raises(SourceNotFound):
            set_paused(uow, "nope", True)


def test_scheduled_syncs_skip_paused_sources_and_wait_for_their_time(app, farm):
    from marketplace.clock import utcnow

    now = utcnow()
    assert [r.source for r in sync_all(app.db, scheduled_only=True, now=now, fetcher=farm.fetch,
                                       parser=farm.parse, options=SyncOptions())] == ["verger-dfc"]  # fmt: skip
    assert sync_all(app.db, scheduled_only=True, now=now, fetcher=farm.fetch, parser=farm.parse) == []  # not due yet
    with app.db.uow() as uow:
        set_paused(uow, "verger-dfc", True)
        uow.commit()
    assert sync_all(app.db, scheduled_only=False, fetcher=farm.fetch, parser=farm.parse) == []


def test_removing_a_source_makes_its_products_unavailable_but_keeps_them(app, farm):
    run(app, farm)
    with app.db.uow() as uow:
        assert remove_source(uow, "verger-dfc") == 3
        uow.commit()
    rows = products(app)
    assert len(rows) == 3 and not any(p.available for p in rows.values())
    with app.db.uow() as uow:
        assert uow.session.scalar(select(func.count(OrderLine.id))) == 0


def test_search_results_and_details_name_the_platform_a_product_came_through(app, market, served):  # noqa: ARG001, F811
    from dialogues.actions import ActionProductDetails, ActionSearchProducts
    from tests.support.actions import chf, tracker
    from tests.support.actions import run as run_action

    run(app, market, name="paysans")
    carrots = products(app, "paysans")["CAR"]
    found = run_action(ActionSearchProducts(), tracker("des carottes", "search_product", {"product": "carottes"}))
    assert f"Carottes — {chf('3.00')} / kg — Lac Test (via Paysans de Genève)" in found.text
    shown = run_action(ActionProductDetails(), tracker("", "product_details", {"product": f"#{carrots.id}"}, lang="de"))
    assert shown.text.splitlines()[0].endswith("Lac Test (über Paysans de Genève)")


def test_feed_ids_longer_than_the_column_are_kept_as_a_digest_and_still_match(app, farm):
    long_id = "https://farm.example/api/dfc/enterprises/verger/catalog_items/" + "x" * 200
    farm.feed = Feed(items=[replace(FARM_FEED.items[0], external_id=long_id)])
    assert run(app, farm).outcome == "applied"
    assert products(app)["GALA"].external_id.startswith("sha256:")
    assert run(app, farm).outcome == "unchanged"


def test_dfc_product_types_and_facets_map_onto_our_categories_and_labels(app, farm):
    farm.feed = Feed(items=[replace(FARM_FEED.items[0], category_word="dfc-pt:mature-cheese", unit="piece",
                                    label_words=("dfc-f:Organic-EU", "https://example.org/facets#Vegan"))])  # fmt: skip
    run(app, farm)
    gala = products(app)["GALA"]
    assert (gala.category, gala.labels) == ("cheese", ["organic", "vegan"])
