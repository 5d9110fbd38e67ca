"""Step 11: a vendor creates, confirms, names, illustrates and withdraws products by chat; vendors and couriers
see what they earned; the cooperative sees the month's split. Actions run without Rasa (rasa-sdk's dispatcher),
against the test database; the wrong person is tried at every boundary."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import stat
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bootstrap import App
from bot.commands import Commands, Incoming
from bot.photos import product_photo, receive_photo
from catalog.models import Product
from catalog.services import ProductFilters
from checkout.earnings import month_of, parse_month, value_split, vendor_earnings
from checkout.models import Order
from dialogues.actions import (
    ActionFallback,
    ActionVendorEarnings,
    ActionVendorNewProduct,
    ActionVendorTranslateProduct,
    ActionVendorWithdrawProduct,
)
from marketplace.accounts import (
    ApprovalStatus,
    OrganisationKind,
    Role,
    add_member,
    add_organisation,
    person_for_chat,
    set_organisation_status,
)
from marketplace.clock import utcnow
from marketplace.errors import PermissionDenied
from marketplace.media import PHOTO_MAX_BYTES
from payments.services import open_payment
from tests.conftest import person
from tests.support.actions import CELLAR, CONSUMER, FARMER, basket_of, placed_order, run, served, tracker  # noqa: F401
from work.products import cancel_product, confirm_product

pytestmark = pytest.mark.usefixtures("served", "shop", "media")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NEW = "nouveau produit : confiture d'abricots, 250 g, 7.50, 20 pots, bio"


@pytest.fixture
def media(app: App, tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    app.settings = dataclasses.replace(app.settings, media_folder=folder)
    return folder


def found(app: App, query: str, lang: str = "fr") -> list[str]:
    with app.db.uow() as uow:
        return [r.product.name for r in app.search.search(uow, query, lang, ProductFilters(), limit=5)]


def propose(text: str = NEW, lang: str = "fr", sender: str = FARMER) -> tuple[str, list[tuple[str, str]]]:
    done = run(ActionVendorNewProduct(), tracker(text, "vendor_new_product", sender=sender, lang=lang))
    return done.text.replace("\xa0", " "), done.buttons


def press(payload: str, sender: str = FARMER, lang: str = "fr") -> str:
    entities = {
        "choice": payload.split('"choice": "')[1].split('"')[0],
        "product": payload.split('"product": "')[1].split('"')[0],
    }
    return run(
        ActionVendorNewProduct(), tracker(payload, "vendor_new_product", entities, sender=sender, lang=lang)
    ).text


def product_named(app: App, name: str) -> Product:
    with app.db.uow() as uow:
        product = next(p for p in uow.session.query(Product) if name in p.names.values())
        uow.session.expunge(product)
        return product


# --- creating -------------------------------------------------------------------------------------


def test_a_producer_creates_a_product_in_one_message_confirms_it_and_it_is_found_at_once(app: App) -> None:
    text, buttons = propose()
    assert (
        text.splitlines()[0] == "Nouveau produit : confiture d'abricots — 7,50 CHF / 250 g — stock 20 — Épicerie — Bio"
    )
    assert [title for title, _ in buttons] == ["✅ Mettre en vente", "Annuler"]
    assert found(app, "confiture abricots") == []  # a draft is not on sale
    assert "est en vente" in press(buttons[0][1])
    assert found(app, "confiture abricots") == ["confiture d'abricots"]
    assert found(app, "confitur d'abricot") == ["confiture d'abricots"]  # typos, as for every product
    product = product_named(app, "confiture d'abricots")
    assert (product.unit, product.price_chf, product.stock, product.labels) == (
        "250 g",
        Decimal("7.50"),
        20,
        ["organic"],
    )
    assert product.vat_class == "reduced" and product.available and product.source == "chat"


@pytest.mark.parametrize(
    ("lang", "text", "name", "first"),
    [
        ("fr", NEW, "confiture d'abricots", "Nouveau produit : confiture d'abricots — 7,50 CHF / 250 g"),
        ("de", "neues Produkt: Aprikosenkonfitüre, 250 g, 7.50, 20 Gläser, Bio", "Aprikosenkonfitüre",
         "Neues Produkt: Aprikosenkonfitüre — CHF 7.50 / 250 g"),
        ("it", "nuovo prodotto: marmellata di albicocche, 250 g, 7,50, 20 vasetti, bio", "marmellata di albicocche",
         "Nuovo prodotto: marmellata di albicocche — CHF 7.50 / 250 g"),
        ("en", "new product: apricot jam, 250 g, CHF 7.50, 20 jars, organic", "apricot jam",
         "New product: apricot jam — CHF 7.50 / 250 g"),
    ],
)  # fmt: skip
def test_product_creation_works_in_every_language(app: App, lang: str, text: str, name: str, first: str) -> None:
    said, buttons = propose(text, lang)
    assert said.startswith(first)
    press(buttons[0][1], lang=lang)
    assert found(app, name, lang) == [name]
    assert product_named(app, name).names == {lang: name}


def test_a_service_with_its_capacity(app: App) -> None:
    text, buttons = propose("nouveau service : atelier vélo, 1 heure, 35.–, 8 places par semaine")
    assert "atelier vélo — 35,00 CHF / heure — 8 places par semaine — Ateliers et cours" in text
    press(buttons[0][1])
    service = product_named(app, "atelier vélo")
    assert (service.kind, service.unit, service.stock, service.capacity_period) == ("service", "hour", 8, "week")
    assert service.vat_class == "standard"


def test_a_message_without_price_is_asked_again_and_nothing_is_created(app: App) -> None:
    text, buttons = propose("nouveau produit : confiture de coings, 370 g, 12 pots")
    assert text.startswith("Quel est le prix de « confiture de coings » ?") and buttons == []
    with app.db.uow() as uow:
        assert uow.session.query(Product).count() == 3


def test_cancel_forgets_the_draft(app: App) -> None:
    _, buttons = propose()
    assert press(buttons[1][1]) == "D'accord, ce produit n'est pas créé."
    with app.db.uow() as uow:
        assert uow.session.query(Product).count() == 3


def test_a_consumer_cannot_sell(app: App) -> None:
    text, buttons = propose(sender=CONSUMER)
    assert text.startswith("Ceci est réservé aux producteurs") and buttons == []
    with app.db.uow() as uow:
        assert uow.session.query(Product).count() == 3


def test_a_vendor_not_approved_yet_cannot_sell(app: App) -> None:
    with app.db.uow() as uow:
        set_organisation_status(uow, "ferme-test", ApprovalStatus.PENDING)
        uow.commit()
    text, buttons = propose()
    assert "Ferme Test" in text and buttons == []
    with app.db.uow() as uow:
        assert uow.session.query(Product).count() == 3


def test_another_vendor_cannot_confirm_or_cancel_my_draft(app: App, shop: dict[str, int]) -> None:
    _, buttons = propose()
    draft = product_named(app, "confiture d'abricots")
    with app.db.uow() as uow:
        cellar = person(uow, shop["cellar"])
        with pytest.raises(PermissionDenied):
            confirm_product(uow, cellar, draft.id, "fr")
        with pytest.raises(PermissionDenied):
            cancel_product(uow, cellar, draft.id)
    assert press(buttons[0][1], sender=CELLAR).endswith("ces données appartiennent à un autre vendeur.")
    assert not product_named(app, "confiture d'abricots").available


# --- names in other languages, withdrawal ---------------------------------------------------------------


def test_the_latest_product_gets_its_german_name_and_is_found_by_it(app: App) -> None:
    press(propose()[1][0][1])
    done = run(ActionVendorTranslateProduct(), tracker("en allemand : Aprikosenkonfitüre", "vendor_translate_product",
                                                       sender=FARMER))  # fmt: skip
    assert done.text.startswith("« confiture d'abricots » s'appelle maintenant « Aprikosenkonfitüre » en allemand")
    assert found(app, "Aprikosenkonfitüre", "de") == ["Aprikosenkonfitüre"]


def test_a_translation_the_model_did_not_understand_is_still_a_translation_for_a_vendor(app: App) -> None:
    press(propose()[1][0][1])
    said = tracker("en allemand : Aprikosenkonfitüre", "nlu_fallback", sender=FARMER)
    assert run(ActionFallback(), said).text.startswith("« confiture d'abricots » s'appelle maintenant")
    shopper = run(ActionFallback(), tracker("en allemand : Aprikosenkonfitüre", "nlu_fallback", sender=CONSUMER))
    assert "s'appelle maintenant" not in shopper.text  # a shopper names nothing
    assert product_named(app, "confiture d'abricots").names.get("de") == "Aprikosenkonfitüre"


def test_a_named_product_gets_its_name_in_another_language(app: App) -> None:
    said = tracker("les tomates en italien : pomodori", "vendor_translate_product", sender=FARMER)
    assert "« pomodori » en italien" in run(ActionVendorTranslateProduct(), said).text
    assert product_named(app, "Tomates").names == {"fr": "Tomates", "it": "pomodori"}


def test_a_producer_withdraws_a_product_by_sentence(app: App) -> None:
    said = tracker("retire les tomates de la vente", "vendor_withdraw_product", sender=FARMER)
    assert (
        run(ActionVendorWithdrawProduct(), said).text
        == "« Tomates » est retiré de la vente. Pour le remettre : /available TOM"
    )
    assert found(app, "tomates") == []


def test_a_shopper_saying_retire_means_their_basket(app: App) -> None:
    placed = tracker("retire les tomates", "vendor_withdraw_product", sender=CONSUMER)
    run(ActionVendorWithdrawProduct(), placed)
    assert found(app, "tomates") == ["Tomates"]  # nothing withdrawn
    assert basket_of(app) == {}


# --- photos ---------------------------------------------------------------------------------------------


def test_a_photo_becomes_the_latest_products_picture_owner_only(app: App, media: Path) -> None:
    press(propose()[1][0][1])
    replies = product_photo(app, Incoming(FARMER, ""), PNG)
    assert [r.text for r in replies] == ["📷 Photo enregistrée pour « confiture d'abricots »."]
    reference = product_named(app, "confiture d'abricots").photo_url
    assert reference.startswith("products/") and reference.endswith(".png")
    stored = media / reference
    assert stored.read_bytes() == PNG and stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_caption_names_the_product(app: App) -> None:
    replies = product_photo(app, Incoming(FARMER, "tomates"), b"\xff\xd8\xff\xe0" + b"\x00" * 32)
    assert replies[0].text == "📷 Photo enregistrée pour « Tomates »."
    assert product_named(app, "Tomates").photo_url.endswith(".jpg")


class FakeRouter:
    def __init__(self, app: App) -> None:
        self.commands = Commands(app)
        self.fetched = 0

    async def language(self, _incoming: Incoming) -> str:
        return "fr"


def test_an_oversized_photo_gets_a_clear_answer_and_is_never_downloaded(app: App, media: Path) -> None:
    router = FakeRouter(app)

    async def fetch() -> bytes:
        router.fetched += 1
        return PNG

    replies = asyncio.run(receive_photo(router, Incoming(FARMER, ""), PHOTO_MAX_BYTES + 1, fetch))  # type: ignore[arg-type]
    assert replies[0].text.startswith("Cette photo est trop grande : 5 Mo au plus.")
    assert router.fetched == 0 and not media.exists()


def test_a_file_that_is_no_image_is_refused(app: App) -> None:
    replies = product_photo(app, Incoming(FARMER, "tomates"), b"<svg onload=alert(1)>")
    assert replies[0].text.startswith("Ce fichier n'est pas une photo")
    assert product_named(app, "Tomates").photo_url == ""


def test_a_consumers_photo_is_not_downloaded(app: App) -> None:
    router = FakeRouter(app)

    async def fetch() -> bytes:
        router.fetched += 1
        return PNG

    replies = asyncio.run(receive_photo(router, Incoming(CONSUMER, ""), 100, fetch))  # type: ignore[arg-type]
    assert router.fetched == 0 and replies[0].text.startswith("Je comprends seulement les messages écrits")


# --- earnings and the month's split ------------------------------------------------------------------------


def _leman_order(app: App, shop: dict[str, int]) -> str:
    """Tomatoes (50 % Léman accepted) and wine (none), paid as much in Léman as possible, with a delivery fee."""
    from checkout.services import DeliveryChoice

    choice = DeliveryChoice("pickup", time_slot="2026-11-25 17:00-19:00", payment_method="leman")
    number = placed_order(app, {shop["tomato"]: "2", shop["wine"]: "1"}, choice=choice)
    with app.db.uow() as uow:
        order = uow.session.query(Order).filter_by(number=number).one()
        company = add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        courier = person_for_chat(uow, "telegram:3003")
        add_member(
            uow,
            courier,
            company,
        )
        order.delivery_company_id, order.delivery_fee = company.id, Decimal("7.00")
        order.total += Decimal("7.00")
        open_payment(uow, app.settings, order)
        uow.commit()
    return number


def test_a_producer_sees_sales_commission_and_payout_in_chf_and_leman(app: App, shop: dict[str, int]) -> None:
    number = _leman_order(app, shop)
    done = run(ActionVendorEarnings(), tracker("combien j'ai gagné ce mois", "vendor_earnings", sender=FARMER))
    lines = done.text.replace("\xa0", " ").splitlines()
    assert lines[0].startswith("Ferme Test — vos ventes de ")
    # 2 kg × 4.80 = 9.60, half payable in Léman; 5 % commission (0.48) out of the francs.
    today = utcnow().astimezone(ZoneInfo("Europe/Zurich")).strftime("%d.%m")
    assert lines[1] == (f"• {number} du {today} (passée) : ventes 4,80 CHF + 4,80 Léman − "
                        "commission 0,48 CHF = vous recevez 4,32 CHF + 4,80 Léman · livraison 7,00 CHF "
                        "(payée par le client au livreur)")  # fmt: skip
    assert (
        "commission de la coopérative (5 %) 0,48 CHF" in lines[2] and "Vous recevez 4,32 CHF + 4,80 Léman." in lines[2]
    )


def test_another_vendor_sees_only_its_own_orders(app: App, shop: dict[str, int]) -> None:
    _leman_order(app, shop)
    with app.db.uow() as uow:
        cellar = vendor_earnings(uow, person(uow, shop["cellar"]), month_of(utcnow(), "Europe/Zurich"),
                                 "Europe/Zurich", Decimal(5))  # fmt: skip
    assert cellar.vendor_name == "Cave Test" and len(cellar.orders) == 1
    assert cellar.sales.total == Decimal("14.50") and cellar.receives.total == Decimal("13.77")


def test_a_consumer_has_no_earnings() -> None:
    done = run(ActionVendorEarnings(), tracker("combien j'ai gagné ce mois", "vendor_earnings", sender=CONSUMER))
    assert done.text.startswith("Ceci est réservé aux producteurs")


@pytest.mark.parametrize(
    ("lang", "title"),
    [("fr", "Ferme Test — vos ventes de "), ("de", "Ferme Test — Ihre Verkäufe im "),
     ("it", "Ferme Test — le vostre vendite di "), ("en", "Ferme Test — your sales in ")],
)  # fmt: skip
def test_the_earnings_command_in_every_language(app: App, shop: dict[str, int], lang: str, title: str) -> None:
    _leman_order(app, shop)
    replies = Commands(app).handle(Incoming(FARMER, "/earnings", lang))
    with app.db.uow() as uow:
        person(uow, shop["farmer"]).language = lang
        uow.commit()
    replies = Commands(app).handle(Incoming(FARMER, "/earnings", lang))
    assert replies[0].text.startswith(title)
    assert len(replies[0].text.splitlines()) == 3


def test_a_courier_sees_their_runs_and_fees(app: App, shop: dict[str, int]) -> None:
    _leman_order(app, shop)
    with app.db.uow() as uow:
        courier = person_for_chat(uow, "telegram:3003")
        courier.memberships[0].role = Role.COURIER
        uow.commit()
    text = Commands(app).handle(Incoming("telegram:3003", "/earnings"))[0].text.replace("\xa0", " ")
    assert text.splitlines() == [text.splitlines()[0], "• 25.11 : 1 livraison(s), 7,00 CHF",
                                 "Total : 1 tournée(s), 1 livraison(s), frais de livraison 7,00 CHF."]  # fmt: skip
    assert text.startswith("Vélo Test — vos tournées de ")


def test_the_months_split_adds_up_to_what_customers_paid(app: App, shop: dict[str, int]) -> None:
    _leman_order(app, shop)
    with app.db.uow() as uow:
        split = value_split(uow, month_of(utcnow(), "Europe/Zurich"), "Europe/Zurich", ("geneva", "GE consomme local"))
    by_name = {line.name: line.amount for line in split.lines}
    assert by_name["Ferme Test"].chf == Decimal("4.32") and by_name["Ferme Test"].leman == Decimal("4.80")
    assert by_name["Vélo Test"].chf == Decimal("7.00")
    assert by_name["GE consomme local"].chf == Decimal("0.48") + Decimal("0.73")
    total = sum((line.amount.total for line in split.lines), Decimal(0))
    assert total == split.paid_by_customers.total == Decimal("9.60") + Decimal("14.50") + Decimal("7.00")


def test_parse_month_refuses_nonsense() -> None:
    assert parse_month("2026-11").isoformat() == "2026-11-01"
    with pytest.raises(Exception, match="month"):
        parse_month("2026-13")


def test_admin_value_split_as_table_and_csv(app: App, shop: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    import admin_cli
    from admin import context

    monkeypatch.setattr(context.console, "width", 200)
    _leman_order(app, shop)
    monkeypatch.setenv("DATABASE_URL", app.db.url)
    monkeypatch.setattr(context.AdminContext, "app", property(lambda _self: app))
    month = month_of(utcnow(), "Europe/Zurich").strftime("%Y-%m")
    result = CliRunner().invoke(admin_cli.cli, ["--lang", "en", "report", "value-split", "--month", month, "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["kind"], r["name"], r["chf"], r["local_currency"]) for r in rows] == [
        ("producer", "Cave Test", "13.77", "0.00"),
        ("producer", "Ferme Test", "4.32", "4.80"),
        ("delivery", "Vélo Test", "7.00", "0.00"),
        ("cooperative", "GE consomme local", "1.21", "0.00"),
        ("total", "paid by customers", "26.30", "4.80"),
    ]
    table = CliRunner().invoke(admin_cli.cli, ["--lang", "en", "report", "value-split", "--month", month])
    assert table.exit_code == 0 and "paid by customers" in table.output


@pytest.mark.parametrize("text", ["nouveau produit", "comment j'ajoute un nouveau produit ?", "je veux vendre du miel"])
def test_a_message_with_nothing_but_words_gets_how_to(text: str) -> None:
    said, buttons = propose(text)
    assert said.startswith("Pour mettre un produit en vente, écrivez-le en un message") and buttons == []


# --- Matrix m.image -----------------------------------------------------------------------------------------


def test_a_matrix_image_with_a_caption_becomes_that_products_picture_and_a_big_one_is_not_downloaded(
    app: App, media: Path
) -> None:
    from nio import MemoryDownloadResponse, RoomMessageImage

    from bot.matrix_bot import MatrixChannel
    from tests.integration.test_matrix_channel import FakeNioClient

    class PhotoClient(FakeNioClient):
        def __init__(self) -> None:
            super().__init__()
            self.downloads: list[str] = []

        async def download(self, mxc: str | None = None, **_: object) -> MemoryDownloadResponse:
            self.downloads.append(str(mxc))
            return MemoryDownloadResponse(PNG, "image/png", "photo.png")

    router = FakeRouter(app)
    matrix = MatrixChannel("http://matrix.test", "@marche:test", router, app.db, access_token="t")  # type: ignore[arg-type]
    client = PhotoClient()
    matrix.client = client  # type: ignore[assignment]

    def image(event: str, size: int) -> RoomMessageImage:
        content = {"msgtype": "m.image", "body": "tomates", "filename": "IMG_1.png", "url": f"mxc://test/{event}",
                   "info": {"mimetype": "image/png", "size": size}}  # fmt: skip
        source = {"type": "m.room.message", "sender": "@anna:example.org", "event_id": f"${event}",
                  "origin_server_ts": 1, "content": content}  # fmt: skip
        return RoomMessageImage.from_dict(source)

    asyncio.run(matrix._on_image("!anna:test", image("a1", len(PNG))))
    assert client.downloads == ["mxc://test/a1"]
    assert client.sent[-1][1]["body"] == "📷 Photo enregistrée pour « Tomates »."
    assert (media / product_named(app, "Tomates").photo_url).read_bytes() == PNG
    asyncio.run(matrix._on_image("!anna:test", image("a2", PHOTO_MAX_BYTES + 1)))
    assert client.downloads == ["mxc://test/a1"]  # the big one was never fetched
    assert client.sent[-1][1]["body"].startswith("Cette photo est trop grande : 5 Mo au plus.")


def test_a_month_that_is_no_month_gets_the_commands_usage(app: App) -> None:
    replies = Commands(app).handle(Incoming(FARMER, "/earnings novembre", "fr"))
    assert replies[0].text == "Écrivez /earnings pour le mois en cours, ou /earnings 2026-10 pour un autre mois."


def test_a_search_the_model_does_not_understand_finds_a_product_created_minutes_ago() -> None:
    from dialogues.actions import ActionFallback

    press(propose("nouveau produit : confiture de rhubarbe, 370 g, 8.50, 20 pots, bio")[1][0][1])
    said = tracker("je cherche de la confiture de rhubarbe", "nlu_fallback", sender=CONSUMER)
    done = run(ActionFallback(), said)
    assert "confiture de rhubarbe" in done.text and not done.text.startswith("Désolé")
    nonsense = run(ActionFallback(), tracker("blorp wibble", "nlu_fallback", sender=CONSUMER))
    assert nonsense.text.startswith("Désolé, je n'ai pas compris.")


def test_the_category_follows_the_head_noun_of_similar_products(app: App) -> None:
    from tests.conftest import make_product
    from work.products import guess_category

    with app.db.uow() as uow:
        make_product(uow, "cave-test", "KOM", "Kombucha au sureau", "4.50", category="drinks")
        make_product(uow, "cave-test", "CON", "Confiture d'abricots", "6.90", category="grocery")
        assert guess_category(uow, "confiture de sureau", False, "fr") == "grocery"
        assert guess_category(uow, "sirop de sureau", False, "fr") == "drinks"
        assert guess_category(uow, "atelier vélo", True, "fr") == "workshops"


def test_a_product_created_by_chat_is_published_in_the_dfc_export_once_on_sale(app: App) -> None:
    from catalog.sources import export_catalog

    def published() -> str:
        with app.db.uow() as uow:
            return json.dumps(export_catalog(uow, "dfc", "https://example.org"), ensure_ascii=False)

    _text, buttons = propose()
    assert "confiture d'abricots" not in published()  # a draft is not on sale, so not published
    press(buttons[0][1])
    assert "confiture d'abricots" in published()
