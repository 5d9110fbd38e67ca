"""The product a shopper means, read from the whole sentence against the demo catalog; shopping lists cut into items."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from bootstrap import App
from catalog.models import Product
from catalog.resolve import Resolution, name_table, resolve_in_sentence, split_shopping_list
from catalog.services import CatalogSearch, bump_revision
from demo import load_demo
from marketplace.accounts import ApprovalStatus, set_organisation_status
from marketplace.db import Database
from marketplace.settings import DEFAULT_CONFIG, load_settings
from tests.conftest import _empty, make_product


@pytest.fixture(scope="module")
def demo(database: Database) -> Iterator[App]:
    """The Geneva demo catalog, loaded once for the module; tests that change it put it back."""
    _empty(database)
    with database.uow() as uow:
        load_demo(uow)
        uow.commit()
    settings = load_settings(DEFAULT_CONFIG, environ={"DATABASE_URL": database.url})
    yield App(settings=settings, db=database, search=CatalogSearch(settings.default_language))
    _empty(database)


def resolve(app: App, text: str, lang: str, **options: object) -> Resolution:
    with app.db.uow() as uow:
        return resolve_in_sentence(uow, app.search, text, lang, **options)  # type: ignore[arg-type]


def meant(app: App, text: str, lang: str, **options: object) -> str | None:
    """The SKU taken without asking, or None when the resolver asks."""
    found = resolve(app, text, lang, **options)
    return found.product.sku if found.product else None


def offered(app: App, text: str, lang: str, **options: object) -> list[str]:
    """The SKUs of the question, best first (empty when a product was taken or nothing matched)."""
    return [p.sku for p in resolve(app, text, lang, **options).candidates]


# --- the issue's table ------------------------------------------------------------------------------------------

ISSUE = [
    ("fr", "ajoute 800 g de fromage à raclette", "SEY-RAC-1"),
    ("de", "Bitte 500 Gramm Raclettekäse", "SEY-RAC-1"),
    ("fr", "un kilo et demi de pommes gala", "JUS-POM-1"),
    ("fr", "mets-moi 2 kg de pommes de terre", "VER-POM-1"),
    ("fr", "je prends 3 baguettes", "FOU-PAI-3"),
    ("it", "vorrei 3 baguette", "FOU-PAI-3"),
    ("en", "I'd like two loaves of sourdough bread", "FOU-PAI-2"),
    ("en", "put 1.5 kg of gala apples in my basket", "JUS-POM-1"),
    ("fr", "4 bières blanches", "LIG-BLA-1"),
    ("en", "add 6 wheat beers", "LIG-BLA-1"),
    ("de", "füge 2 Flaschen Apfelsaft hinzu", "JUS-JUS-1"),
]


@pytest.mark.parametrize("goods_wanted", [True, False], ids=["goods", "any"])
@pytest.mark.parametrize(("lang", "text", "sku"), ISSUE)
def test_every_request_of_the_issue_resolves_to_the_product_meant_without_a_question(
    demo: App, lang: str, text: str, sku: str, goods_wanted: bool
) -> None:
    found = resolve(demo, text, lang, goods_wanted=goods_wanted)
    assert found.product is not None and found.product.sku == sku
    assert found.candidates == ()


# --- realistic requests, per language ---------------------------------------------------------------------------

FRENCH = [
    ("2 pots de miel de forêt", "ABE-MIEL-3"),
    ("un pot de miel d'acacia s'il vous plaît", "ABE-MIEL-4"),
    ("un pot de miel de tilleul", "ABE-MIEL-6"),
    ("un pain complet", "FOU-PAI-1"),
    ("deux pains au levain", "FOU-PAI-2"),
    ("3 jus de pomme", "JUS-JUS-1"),
    ("2 bouteilles de jus de pomme et coing", "JUS-JUS-2"),
    ("1 kg de poireaux", "VER-POI-1"),
    ("500 g de carottes", "VER-CAR-1"),
    ("ajoute 6 croissants au beurre", "FOU-CRO-1"),
    ("6 croissants", "FOU-CRO-1"),  # for a French speaker, not the "Chocolate croissant"
    ("une tomme de Meinier", "SEY-TOM-1"),
    ("2 tommes aux herbes", "SEY-TOM-2"),
    ("200 g de gruyère doux", "SEY-GRU-1"),
    ("6 œufs bio", "BEL-OEU-B6"),
    ("2 bières blondes", "LIG-BLO-1"),  # the exact name, not « Bière blonde de Meyrin »
    ("une bière blonde sans gluten", "LIG-SG-1"),  # the longest name inside the message
    ("une caisse de 24 bières blondes", "LIG-CAR-1"),
    ("une bière aux cerises", "HOU-CER-1"),
    ("500 g de cerises", "JUS-CER-1"),
    ("1 l de lait entier", "SEY-LAI-1"),
    ("un litre de lait demi-écrémé", "SEY-LAI-2"),
    ("500 g de beurre", "SEY-BEU-1"),  # not the 500 g « Tresse au beurre »
    ("3 yaourts aux fraises", "SEY-YAO-2"),
    ("500 g de fraises", "VER-FRA-1"),
    ("une bouteille de chasselas de Satigny", "CRE-CHA-1"),
    ("un jus de raisin bio", "ALL-JUS-1"),
    ("1 kg de pommes Golden", "JUS-POM-2"),
    ("une saucisse aux choux", "MOT-SAU-1"),
    ("4 chipolatas", "MOT-CHI-1"),
    ("1 poulet fermier", "MOT-POU-1"),
    ("300 g de viande séchée", "MOT-VIA-1"),
    ("un chou-fleur", "DRI-CHO-1"),
    ("une courge butternut", "VER-COG-1"),
    ("de la mâche", "DRI-MAC-1"),
    ("des oignons", "DRI-OIG-1"),
    ("une tablette de chocolat noir", "VRA-CHO-1"),
    ("2 paquets de pâtes", "VRA-PAT-1"),
    ("du riz complet", "VRA-RIZ-1"),
    ("une eau-de-vie", "CRE-MAR-1"),
    ("une tarte aux pruneaux", "FOU-TAR-1"),
    ("2 tresses au beurre", "FOU-TRE-1"),
    ("fromage a raclete", "SEY-RAC-1"),  # typo
    ("2 kg de pomes de tere", "VER-POM-1"),  # typos
    ("2 pots de mial de foret", "ABE-MIEL-3"),  # typo, no accent
    ("2 baguetes", "FOU-PAI-3"),  # typo
    ("deux bieres blanches", "LIG-BLA-1"),  # no accent
]
GERMAN = [
    ("2 kg Kartoffeln", "VER-POM-1"),
    ("1 kg Kartofeln", "VER-POM-1"),  # typo
    ("ein Vollkornbrot", "FOU-PAI-1"),
    ("ein Vollkornbrott", "FOU-PAI-1"),  # typo
    ("3 Buttergipfeli", "FOU-CRO-1"),
    ("4 Buttergipfel", "FOU-CRO-1"),
    ("ich hätte gern 2 Gläser Waldhonig", "ABE-MIEL-3"),
    ("ein Glas Akazienhonig", "ABE-MIEL-4"),
    ("1 kg Äpfel Gala", "JUS-POM-1"),
    ("6 Weissbier", "LIG-BLA-1"),
    ("3 Weißbier", "LIG-BLA-1"),
    ("zwei Flaschen Birnensaft", "JUS-JUS-4"),
    ("1 Liter Rohmilch", "SEY-LAI-1"),
    ("2 Packungen Fusilli", "VRA-PAT-1"),
    ("500 g Rindshackfleisch", "MOT-BOE-2"),
    ("ein Suppenhuhn", "BEL-POU-1"),
    ("1 kg Karotten", "VER-CAR-1"),
    ("2 kg Zwiebeln", "DRI-OIG-1"),
    ("eine Gurke", "VER-CON-1"),
    ("200 g Nüsslisalat", "DRI-MAC-1"),
    ("6 Flaschen Helles Bier", "LIG-BLO-1"),
    ("ein Sauerteigbrot bitte", "FOU-PAI-2"),
    ("2 Raclette Käse", "SEY-RAC-1"),  # the compound written in two words
    ("500 g Ratclettekäse", "SEY-RAC-1"),  # typo
    ("250 g Butter", "SEY-BEU-1"),  # « Vorzugsbutter », not « Butterzopf »
    ("500 g Erdbeeren", "VER-FRA-1"),
    ("einen Blumenkohl", "DRI-CHO-1"),
    ("2 Bio-Eier", "BEL-OEU-B6"),
    ("einen Butterzopf", "FOU-TRE-1"),
    ("Roggenbrot", "FOU-PAI-4"),
    ("2 Flaschen Met", "ABE-HYD-1"),  # « Met » is mead, even if « mets » is a filler in French
]
ITALIAN = [
    ("2 kg di patate", "VER-POM-1"),
    ("un chilo di mele gala", "JUS-POM-1"),
    ("3 birre bianche", "LIG-BLA-1"),
    ("due bottiglie di succo di mela", "JUS-JUS-1"),
    ("2 bottiglie di suco di mela", "JUS-JUS-1"),  # typo
    ("un pane integrale", "FOU-PAI-1"),
    ("500 g di miele di bosco", "ABE-MIEL-3"),
    ("miele di acacia", "ABE-MIEL-4"),
    ("6 uova bio", "BEL-OEU-B6"),
    ("un litro di latte intero crudo", "SEY-LAI-1"),
    ("2 cornetti al burro", "FOU-CRO-1"),
    ("1 kg di carote", "VER-CAR-1"),
    ("4 porri", "VER-POI-1"),
    ("una zucca butternut", "VER-COG-1"),
    ("300 g di prosciutto cotto", "MOT-JAM-1"),
    ("un pollo ruspante", "MOT-POU-1"),
    ("2 vasetti di marmellata di albicocche", "VRA-CON-1"),
    ("formaggio per raclette", "SEY-RAC-1"),  # no Italian name: the French and English ones, via « formaggio »
    ("una confezione di fusilli", "VRA-PAT-1"),
    ("500 g di lenticchie rosse", "VRA-LEN-2"),
    ("mezzo chilo di fragole", "VER-FRA-1"),
    ("una birra bionda senza glutine", "LIG-SG-1"),
    ("due pagnotte di pane a lievito madre", "FOU-PAI-2"),
    ("pane di segale", "FOU-PAI-4"),
    ("3 panini ai cereali", "FOU-PET-1"),
    ("un kilo di patate charlotte", "VER-POM-1"),
]
ENGLISH = [
    ("2 kg of potatoes", "VER-POM-1"),
    ("1 kg of charlotte potatoes", "VER-POM-1"),
    ("a jar of forest honey", "ABE-MIEL-3"),
    ("a jar of forrest honey", "ABE-MIEL-3"),  # typo
    ("2 jars of acacia honey", "ABE-MIEL-4"),
    ("three bottles of apple juice", "JUS-JUS-1"),
    ("a bottle of pear juice please", "JUS-JUS-4"),
    ("a wholemeal bread", "FOU-PAI-1"),
    ("half a kilo of carrots", "VER-CAR-1"),
    ("can I have 3 leeks", "VER-POI-1"),
    ("6 organic eggs", "BEL-OEU-B6"),
    ("2 litres of whole raw milk", "SEY-LAI-1"),
    ("a bag of rolled oats", "VRA-AVO-1"),
    ("200g of mild gruyere", "SEY-GRU-1"),
    ("raclette cheese 800 g", "SEY-RAC-1"),
    ("a wicker basket", "FAB-PAN-1"),  # "basket" is a product here, not "in my basket"
    ("2 bars of olive oil soap", "VRA-SAV-1"),
    ("1 kg of green lentils", "VRA-LEN-1"),
    ("a cauliflower", "DRI-CHO-1"),
    ("some lamb's lettuce", "DRI-MAC-1"),
    ("4 butter croissants", "FOU-CRO-1"),
    ("a pack of ground coffee", "VRA-CAF-2"),
    ("2 blonde beers", "LIG-BLO-1"),
    ("wheat beer x6", "LIG-BLA-1"),
    ("2 bagettes", "FOU-PAI-3"),  # typo
    ("sourdough bred", "FOU-PAI-2"),  # typo
    ("a bottle of mead", "ABE-HYD-1"),
    ("a plum tart", "FOU-TAR-1"),
    ("garlic", "DRI-AIL-1"),
]


@pytest.mark.parametrize(
    ("lang", "text", "sku"),
    [("fr", *case) for case in FRENCH]
    + [("de", *case) for case in GERMAN]
    + [("it", *case) for case in ITALIAN]
    + [("en", *case) for case in ENGLISH],
)
def test_a_realistic_request_resolves_to_the_product_meant_without_a_question(
    demo: App, lang: str, text: str, sku: str
) -> None:
    assert meant(demo, text, lang, goods_wanted=True) == sku


def test_products_sharing_words_are_told_apart_by_the_longest_name_in_the_message(demo: App) -> None:
    assert meant(demo, "miel de forêt", "fr") == "ABE-MIEL-3"
    assert meant(demo, "miel d'acacia", "fr") == "ABE-MIEL-4"
    assert meant(demo, "pain complet", "fr") == "FOU-PAI-1"
    assert meant(demo, "jus de pomme", "fr") == "JUS-JUS-1"
    assert meant(demo, "jus de pomme et coing", "fr") == "JUS-JUS-2"
    assert meant(demo, "pommes gala", "fr") == "JUS-POM-1"
    assert meant(demo, "pommes de terre", "fr") == "VER-POM-1"
    # « pommes » alone is any of the apples: never the juice nor the potatoes
    assert sorted(offered(demo, "pommes", "fr")) == ["JUS-POM-1", "JUS-POM-2", "JUS-POM-3", "JUS-POM-4"]
    # « pain » alone is a question about breads only, never a baguette taken for it
    breads = offered(demo, "du pain", "fr")
    assert len(breads) == 5 and meant(demo, "du pain", "fr") is None
    with demo.db.uow() as uow:
        names = [p.name for p in resolve_in_sentence(uow, demo.search, "du pain", "fr").candidates]
    assert all(name.startswith("Pain") for name in names)


def test_the_pack_size_said_chooses_between_products_of_the_same_name(demo: App) -> None:
    assert sorted(offered(demo, "miel de fleurs", "fr")) == ["ABE-MIEL-1", "ABE-MIEL-2"]
    assert meant(demo, "miel de fleurs 250 g", "fr") == "ABE-MIEL-2"
    assert meant(demo, "2 miels de fleurs de 500 g", "fr") == "ABE-MIEL-1"
    assert meant(demo, "3 Gläser Blütenhonig 250 g", "de") == "ABE-MIEL-2"
    assert meant(demo, "please add 2 jars of wildflower honey 250g", "en") == "ABE-MIEL-2"


def test_a_pack_size_said_in_words_or_hyphenated_chooses_the_pack(demo: App) -> None:
    assert meant(demo, "mezzo chilo di miele di fiori", "it") == "ABE-MIEL-1"
    assert meant(demo, "drei 250-g-Gläser Blütenhonig", "de") == "ABE-MIEL-2"


@pytest.mark.parametrize(
    ("lang", "text", "sku"),
    [
        ("fr", "2 bougies en cire d'abeille", "ABE-BOU-1"),  # « bougies » is stemmed "bougy", « Bougie » "bougie"
        ("en", "a box of quail eggs", "BEL-CAI-1"),  # "box" is a container, not the vegetable box's word
        ("en", "2 boxes of darjeeling tea", "VRA-THE-1"),
        ("de", "Mach mir bitte 2 kg Kartoffeln in den Korb", "VER-POM-1"),  # « mach » is not « Mâche »
    ],
)
def test_plurals_in_ies_containers_and_requests_do_not_hide_the_product(
    demo: App, lang: str, text: str, sku: str
) -> None:
    assert meant(demo, text, lang, goods_wanted=True) == sku


# --- questions --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "pommes", {"JUS-POM-1", "JUS-POM-2", "JUS-POM-3", "JUS-POM-4"}),
        ("en", "apples", {"JUS-POM-1", "JUS-POM-2", "JUS-POM-3", "JUS-POM-4"}),
        ("fr", "2 kg de tomates", {"VER-TOM-1", "VER-TOM-2", "VER-TOM-3", "DRI-TOM-1"}),
        ("de", "ich möchte 1 kg Tomaten", {"VER-TOM-1", "VER-TOM-2", "VER-TOM-3", "DRI-TOM-1"}),
        ("en", "one kilo of tomatos", {"VER-TOM-1", "VER-TOM-2", "VER-TOM-3", "DRI-TOM-1"}),
        ("fr", "du gruyère", {"SEY-ALP-1", "SEY-GRU-1", "SEY-GRU-2"}),
        ("de", "Alpkäse", {"SEY-ALP-1", "SEY-ALP-2"}),
        ("fr", "lait", {"SEY-LAI-1", "SEY-LAI-2"}),  # not the « Chocolat au lait »
        ("de", "6 Freilandeier", {"BEL-OEU-6", "BEL-OEU-10"}),
        ("en", "a dozen free-range eggs", {"BEL-OEU-6", "BEL-OEU-10"}),
        ("fr", "6 oeufs frais", {"BEL-OEU-6", "BEL-OEU-10"}),
        ("fr", "une bouteille de gamay", {"CRE-GAM-1", "ALL-GAM-1", "CRE-ROS-1"}),
        ("fr", "2 savons", {"FAB-SAV-2", "VRA-SAV-1"}),  # not the soap-making workshop
        ("en", "2 sourdough", {"FOU-PAI-2", "FAB-PAI-1"}),
        ("en", "croissant", {"FOU-CRO-1", "FOU-PAC-1"}),  # in English both are croissants
    ],
)
def test_a_question_offers_only_the_plausible_products(demo: App, lang: str, text: str, expected: set[str]) -> None:
    found = resolve(demo, text, lang)
    assert found.product is None
    assert {p.sku for p in found.candidates} == expected


@pytest.mark.parametrize(
    ("lang", "text", "prefix"),
    [
        ("fr", "miel", "ABE-MIEL-"),
        ("en", "honey", "ABE-MIEL-"),
        ("de", "Honig", "ABE-MIEL-"),
        ("it", "miele", "ABE-MIEL-"),
    ],
)
def test_a_word_many_products_share_asks_among_them_at_most_five(demo: App, lang: str, text: str, prefix: str) -> None:
    candidates = offered(demo, text, lang)
    assert len(candidates) == 5 and all(sku.startswith(prefix) for sku in candidates)


def test_a_category_word_asks_among_the_category_instead_of_taking_the_one_product_named_so(demo: App) -> None:
    found = resolve(demo, "un fromage", "fr")
    assert found.product is None
    assert found.candidates[0].sku == "SEY-RAC-1" and len(found.candidates) == 5
    assert {p.category for p in found.candidates} == {"cheese"}


def test_a_catalog_word_the_product_does_not_explain_prevents_a_guess(demo: App) -> None:
    # No cherry jam: neither the cherries nor the apricot jam are taken without asking.
    found = resolve(demo, "confiture de cerises", "fr")
    assert found.product is None
    assert {"JUS-CER-1", "VRA-CON-1"} <= {p.sku for p in found.candidates}
    assert resolve(demo, "cherry jam", "en").product is None


def test_goods_step_aside_for_nothing_but_services_step_aside_for_goods(demo: App) -> None:
    assert meant(demo, "2 sourdough", "en", goods_wanted=True) == "FOU-PAI-2"
    assert offered(demo, "vorrei 3 baguette", "it", goods_wanted=True) == []
    assert meant(demo, "savon", "fr", goods_wanted=True) is None
    assert offered(demo, "savon", "fr", goods_wanted=True) == ["FAB-SAV-2", "VRA-SAV-1"]
    # Services are found when they are what is asked for.
    assert meant(demo, "un cours de vannerie", "fr") == "FAB-VAN-1"
    assert meant(demo, "2 cours de pain au levain", "fr") == "FAB-PAI-1"
    assert meant(demo, "I'd like to book the bread-making class", "en") == "FAB-PAI-1"
    assert meant(demo, "une réparation de crevaison", "fr") == "RAY-CRE-1"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("fr", "ajoute s'il vous plaît"),
        ("fr", "mets-moi 2 kg"),
        ("fr", "je prends 3"),
        ("en", "put it in my basket please"),
        ("en", "I'd like two"),
        ("de", "bitte, füge 2 hinzu"),
        ("it", "vorrei 3 per favore"),
        ("fr", "des chaussures"),  # nothing of the kind in the catalog
        ("fr", ""),
    ],
)
def test_shopper_words_alone_name_no_product(demo: App, lang: str, text: str) -> None:
    assert resolve(demo, text, lang) == Resolution(None, ())


def test_the_nlu_entity_adds_its_words_but_does_not_replace_the_sentence(demo: App) -> None:
    assert meant(demo, "mets-moi 2 kg de pommes de terre", "fr", entity="pommes") == "VER-POM-1"
    assert meant(demo, "2 de plus", "fr", entity="baguette") == "FOU-PAI-3"


def test_a_vendor_narrows_the_products_considered(demo: App) -> None:
    assert meant(demo, "bière blonde", "fr") == "LIG-BLO-1"
    assert sorted(offered(demo, "bière blonde", "fr", vendor="houblon-local")) == ["HOU-BLO-1", "HOU-BLO-2"]
    assert meant(demo, "bière blonde bio", "fr", vendor="houblon-local") == "HOU-BLO-2"
    assert resolve(demo, "bière blonde", "fr", vendor="no-such-vendor") == Resolution(None, ())


def test_products_of_a_suspended_vendor_are_not_offered(demo: App) -> None:
    with demo.db.uow() as uow:
        set_organisation_status(uow, "brasserie-du-lignon", ApprovalStatus.SUSPENDED)
        uow.commit()
    try:
        assert meant(demo, "4 bières blanches", "fr") is None
        assert "LIG-BLA-1" not in offered(demo, "4 bières blanches", "fr")
    finally:
        with demo.db.uow() as uow:
            set_organisation_status(uow, "brasserie-du-lignon", ApprovalStatus.APPROVED)
            uow.commit()
    assert meant(demo, "4 bières blanches", "fr") == "LIG-BLA-1"


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80), lang=st.sampled_from(["fr", "de", "it", "en", "es"]))
def test_resolving_any_text_never_fails_and_offers_at_most_five(demo: App, text: str, lang: str) -> None:
    found = resolve(demo, text, lang)
    assert (found.product is None) or found.candidates == ()
    assert len(found.candidates) <= 5


# --- shopping lists ---------------------------------------------------------------------------------------------

LISTS = [
    ("fr", "2 baguettes et 6 croissants", ["2 baguettes", "6 croissants"]),
    (
        "en",
        "a kilo of carrots, a kilo of leeks and a cauliflower",
        ["a kilo of carrots", "a kilo of leeks", "a cauliflower"],
    ),
    ("fr", "1 kg de pommes, 2 l de lait et du pain", ["1 kg de pommes", "2 l de lait", "du pain"]),
    (
        "fr",
        "- 2 baguettes\n- 1 kg de carottes\n- du miel de forêt",
        ["2 baguettes", "1 kg de carottes", "du miel de forêt"],
    ),
    ("fr", "2 baguettes\n1 kg de carottes\r\nmiel de forêt", ["2 baguettes", "1 kg de carottes", "miel de forêt"]),
    ("en", "1. 2 sourdough loaves\n2. 6 eggs", ["2 sourdough loaves", "6 eggs"]),
    ("fr", "pain, lait, beurre", ["pain", "lait", "beurre"]),
    (
        "de",
        "Bitte 500 Gramm Raclettekäse und 2 Flaschen Apfelsaft",
        ["Bitte 500 Gramm Raclettekäse", "2 Flaschen Apfelsaft"],
    ),
    ("it", "vorrei 3 baguette e 2 cornetti", ["vorrei 3 baguette", "2 cornetti"]),
    (
        "en",
        "I'd like two loaves of sourdough bread and a jar of honey",
        ["I'd like two loaves of sourdough bread", "a jar of honey"],
    ),
    ("fr", "1,5 kg de pommes gala et 2 kg de poires", ["1,5 kg de pommes gala", "2 kg de poires"]),
    (
        "fr",
        "ajoute 2 baguettes et aussi 6 croissants s'il te plaît",
        ["ajoute 2 baguettes", "aussi 6 croissants s'il te plaît"],
    ),
    ("fr", "baguette et croissant", ["baguette", "croissant"]),  # both are catalog words
    ("de", "Apfelsaft und Birnensaft", ["Apfelsaft", "Birnensaft"]),
    # a half followed by a measure opens an item (found trying the Italian chat)
    (
        "it",
        "vorrei 2 baguette e mezzo chilo di formaggio da raclette",
        ["vorrei 2 baguette", "mezzo chilo di formaggio da raclette"],
    ),
    ("en", "2 baguettes and half a kilo of leeks", ["2 baguettes", "half a kilo of leeks"]),
    ("de", "2 Baguettes und ein halbes Kilo Raclettekäse", ["2 Baguettes", "ein halbes Kilo Raclettekäse"]),
    ("it", "un chilo e mezzo di mele gala", ["un chilo e mezzo di mele gala"]),
    # one request stays one item
    ("fr", "un kilo et demi de pommes gala", ["un kilo et demi de pommes gala"]),
    ("en", "2 kg and a half of apples", ["2 kg and a half of apples"]),
    ("fr", "mets-moi 2 kg de pommes de terre", ["mets-moi 2 kg de pommes de terre"]),
    ("fr", "une caisse de 24 bières blondes", ["une caisse de 24 bières blondes"]),
    ("fr", "fromage à raclette, 800 g", ["fromage à raclette, 800 g"]),  # a piece with no product word stays
    ("fr", "ajoute, s'il te plaît, 2 baguettes", ["ajoute, s'il te plaît, 2 baguettes"]),
    # catalog names holding « et », "and", « e » or a comma stay whole
    ("fr", "2 bouteilles de jus de pomme et coing", ["2 bouteilles de jus de pomme et coing"]),
    ("en", "Apple and quince juice", ["Apple and quince juice"]),
    ("it", "2 Succo di mela e cotogna", ["2 Succo di mela e cotogna"]),
    ("en", "2 Alpine Gruyère PDO, 12 months", ["2 Alpine Gruyère PDO, 12 months"]),
    ("fr", "Visite du rucher et extraction du miel", ["Visite du rucher et extraction du miel"]),
]


@pytest.mark.parametrize(("lang", "text", "items"), LISTS)
def test_a_message_is_cut_into_the_items_of_a_shopping_list(demo: App, lang: str, text: str, items: list[str]) -> None:
    with demo.db.uow() as uow:
        catalog = name_table(uow, demo.search)
    assert split_shopping_list(text, lang, catalog=catalog) == items


def test_without_the_catalog_only_a_quantity_or_an_article_opens_an_item_after_a_conjunction() -> None:
    assert split_shopping_list("2 baguettes et 6 croissants", "fr") == ["2 baguettes", "6 croissants"]
    assert split_shopping_list("des pommes et du pain", "fr") == ["des pommes", "du pain"]
    assert split_shopping_list("sel et poivre", "fr") == ["sel et poivre"]
    assert split_shopping_list("pain, lait", "fr") == ["pain", "lait"]
    assert split_shopping_list("", "fr") == []


def test_a_catalog_name_holding_a_conjunction_is_one_item_and_resolves_whole(demo: App) -> None:
    with demo.db.uow() as uow:
        make_product(uow, "le-grain-vrac", "VRA-SEL-1", "Sel et poivre", "4.50", category="grocery")
        make_product(uow, "le-grain-vrac", "VRA-SEL-2", "Sel de Guérande", "3.80", category="grocery")
        uow.commit()
    try:
        with demo.db.uow() as uow:
            catalog = name_table(uow, demo.search)
        assert split_shopping_list("sel et poivre", "fr", catalog=catalog) == ["sel et poivre"]
        assert split_shopping_list("2 baguettes et sel et poivre", "fr", catalog=catalog) == [
            "2 baguettes",
            "sel et poivre",
        ]
        assert meant(demo, "un sel et poivre", "fr") == "VRA-SEL-1"
        assert meant(demo, "sel de Guérande", "fr") == "VRA-SEL-2"
    finally:
        with demo.db.uow() as uow:
            uow.session.execute(delete(Product).where(Product.sku.in_(["VRA-SEL-1", "VRA-SEL-2"])))
            bump_revision(uow)
            uow.commit()
    assert resolve(demo, "sel de Guérande", "fr") == Resolution(None, ())


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120))
def test_splitting_any_text_never_fails_and_keeps_the_shoppers_words(text: str) -> None:
    for item in split_shopping_list(text, "fr"):
        assert item and item == item.strip() and item in text


def test_a_new_quantity_starts_a_new_item_where_the_quantity_reader_sees_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in for catalog.quantities.read_quantities: every number is a quantity.
    reader = types.ModuleType("catalog.quantities")
    reader.read_quantities = lambda text, _lang=None: [  # type: ignore[attr-defined]
        types.SimpleNamespace(start=m.start(), end=m.end()) for m in re.finditer(r"\d+", text)
    ]
    monkeypatch.setitem(sys.modules, "catalog.quantities", reader)
    assert split_shopping_list("2 baguettes 6 croissants", "fr") == ["2 baguettes", "6 croissants"]
    assert split_shopping_list("une caisse de 24 bières blondes", "fr") == ["une caisse de 24 bières blondes"]
    assert split_shopping_list("Gruyère AOP salé 18 mois", "fr") == ["Gruyère AOP salé 18 mois"]
