"""Quantities read from what shoppers type, in four languages, and converted to the unit each product is sold in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.quantities import (
    LANGS,
    SaidQuantity,
    SaleQuantity,
    pieces_per_unit,
    read_quantities,
    read_quantity,
    said_quantity,
    to_sale_units,
)

D = Decimal
Read = tuple[str, str | None, str | None, str]  # amount, measure, container, the words of the quantity


def read(text: str, lang: str | None) -> list[Read]:
    return [(f"{q.amount}", q.measure, q.container, text[q.start : q.end]) for q in read_quantities(text, lang)]


FRENCH = [
    ("ajoute 800 g de fromage à raclette", [("800", "g", None, "800 g de")]),
    ("un kilo et demi de pommes gala", [("1.5", "kg", None, "un kilo et demi de")]),
    ("mets-moi 2 kg de pommes de terre", [("2", "kg", None, "2 kg de")]),
    ("je prends 3 baguettes", [("3", None, None, "3")]),
    ("4 bières blanches", [("4", None, None, "4")]),
    ("2 baguettes et 6 croissants", [("2", None, None, "2"), ("6", None, None, "6")]),
    ("une livre de cerises", [("500", "g", None, "une livre de")]),
    ("1,2 kg de carottes", [("1.2", "kg", None, "1,2 kg de")]),
    ("800g de gruyère doux", [("800", "g", None, "800g de")]),
    ("75 cl de jus de pomme", [("75", "cl", None, "75 cl de")]),
    ("2 l de lait entier", [("2", "l", None, "2 l de")]),
    ("il me faut 2 litres de lait cru", [("2", "l", None, "2 litres de")]),
    ("3 pots de miel de forêt", [("3", None, "pot", "3 pots de")]),
    ("deux bocaux de cardons", [("2", None, "bocal", "deux bocaux de")]),
    ("3 barquettes de fraises", [("3", None, "barquette", "3 barquettes de")]),
    ("ajoute 2 paquets de fusilli", [("2", None, "paquet", "2 paquets de")]),
    ("6 bouteilles de chasselas", [("6", None, "bouteille", "6 bouteilles de")]),
    ("une douzaine d'œufs", [("12", None, None, "une douzaine d'")]),
    ("une demi-douzaine d'œufs frais", [("6", None, None, "une demi-douzaine d'")]),
    ("je voudrais un pain au levain", [("1", None, None, "un")]),
    ("vingt-quatre bières blondes", [("24", None, None, "vingt-quatre")]),
    ("½ kg de beurre", [("0.5", "kg", None, "½ kg de")]),
    ("1/2 kg de beurre", [("0.5", "kg", None, "1/2 kg de")]),
    ("un demi-litre de crème", [("0.5", "l", None, "un demi-litre de")]),
    ("deux cents grammes de jambon", [("200", "g", None, "deux cents grammes de")]),
    ("soixante-dix grammes de viande séchée", [("70", "g", None, "soixante-dix grammes de")]),
    ("septante grammes de viande séchée", [("70", "g", None, "septante grammes de")]),
    ("2 pots de 500 g de miel", [("1000", "g", "pot", "2 pots de 500 g de")]),
    ("trois heures de réparation de vêtements", [("3", "h", None, "trois heures de")]),
    ("j'en veux deux", [("2", None, None, "deux")]),
    (
        "ajoute 1 kg de carottes, 2 kg de poireaux et un chou-fleur",
        [("1", "kg", None, "1 kg de"), ("2", "kg", None, "2 kg de"), ("1", None, None, "un")],
    ),
    ("2 baguettes\n1 kg de pommes gala\nun pot de miel", [("2", None, None, "2"), ("1", "kg", None, "1 kg de"),
                                                          ("1", None, "pot", "un pot de")]),
    # Numbers that belong to a product's name, a price, a code or a date are not quantities.
    ("pommes de terre", []),
    ("fromage à raclette", []),
    ("Chocolat noir 70 %", []),
    ("Œufs bio (6)", []),
    ("Gruyère AOP d'alpage 12 mois", []),
    ("lait pasteurisé demi-écrémé", []),
    ("une caisse de 24 bières blondes", [("1", None, None, "une")]),
    ("c'est un peu cher", []),
    ("le pain complet passe à 6.50", []),
    ("où en est ma commande GE-7K3Q9M ?", []),
    ("livraison le 12/05 à 17:00", []),
    ("le 3", []),
    ("pour 4 personnes", []),
    ("mon numéro est 079 123 45 67", []),
    ("livrez demain à 17h", []),
    ("mets 2 kg 500 de pommes", [("2.5", "kg", None, "2 kg 500 de")]),
    ("Coffret découverte 6 bières genevoises", []),
]  # fmt: skip

GERMAN = [
    ("Bitte 500 Gramm Raclettekäse", [("500", "g", None, "500 Gramm")]),
    ("füge 2 Flaschen Apfelsaft hinzu", [("2", None, "flasche", "2 Flaschen")]),
    ("anderthalb Kilo Äpfel", [("1.5", "kg", None, "anderthalb Kilo")]),
    ("eineinhalb Kilo Kartoffeln", [("1.5", "kg", None, "eineinhalb Kilo")]),
    ("zweieinhalb Kilo Tomaten", [("2.5", "kg", None, "zweieinhalb Kilo")]),
    ("ein halbes Kilo Kirschen", [("0.5", "kg", None, "ein halbes Kilo")]),
    ("ein halbes Pfund Butter", [("250", "g", None, "ein halbes Pfund")]),
    ("ein Pfund Erdbeeren", [("500", "g", None, "ein Pfund")]),
    ("1 Liter Milch", [("1", "l", None, "1 Liter")]),
    ("zwei Liter Vollmilch bitte", [("2", "l", None, "zwei Liter")]),
    ("2 Gläser Honig", [("2", None, "glas", "2 Gläser")]),
    ("drei Packungen Spaghetti", [("3", None, "packung", "drei Packungen")]),
    ("ein Dutzend Eier", [("12", None, None, "ein Dutzend")]),
    ("ein halbes Dutzend Eier", [("6", None, None, "ein halbes Dutzend")]),
    ("ich hätte gern 3 Baguettes", [("3", None, None, "3")]),
    ("vierundzwanzig Flaschen Bier", [("24", None, "flasche", "vierundzwanzig Flaschen")]),
    ("zweihundertfünfzig Gramm Käse", [("250", "g", None, "zweihundertfünfzig Gramm")]),
    ("1,5 kg Äpfel", [("1.5", "kg", None, "1,5 kg")]),
    ("750g Hackfleisch", [("750", "g", None, "750g")]),
    ("75 cl Weisswein", [("75", "cl", None, "75 cl")]),
    ("3 dl Rahm", [("30", "cl", None, "3 dl")]),
    ("3 Dosen Bier", [("3", None, "dose", "3 Dosen")]),
    ("5 Becher Joghurt", [("5", None, "becher", "5 Becher")]),
    ("2 Stück Butterzopf", [("2", None, "stuck", "2 Stück")]),
    ("zwei Laibe Roggenbrot", [("2", None, "laib", "zwei Laibe")]),
    ("ich möchte 6 Weizenbiere", [("6", None, None, "6")]),
    ("einen Zopf bitte", [("1", None, None, "einen")]),
    ("2 Flaschen à 75 cl Gamay", [("150", "cl", "flasche", "2 Flaschen à 75 cl")]),
    (
        "2 Kilo Karotten, 1 Kilo Lauch und einen Blumenkohl",
        [("2", "kg", None, "2 Kilo"), ("1", "kg", None, "1 Kilo"), ("1", None, None, "einen")],
    ),
    ("ein bisschen Käse", []),
    ("um 17 Uhr bitte", []),
    ("12 Monate gereifter Gruyère", []),
    ("Eier (6)", []),
    ("Dunkle Schokolade 70%", []),
    ("Harass mit 24 hellen Bieren", []),
    ("Probierset 6 Genfer Biere", []),
]  # fmt: skip

ITALIAN = [
    ("vorrei 3 baguette", [("3", None, None, "3")]),
    ("mezzo chilo di mele", [("0.5", "kg", None, "mezzo chilo di")]),
    ("un chilo e mezzo di patate", [("1.5", "kg", None, "un chilo e mezzo di")]),
    ("due chili e mezzo di pomodori", [("2.5", "kg", None, "due chili e mezzo di")]),
    ("250 grammi di burro", [("250", "g", None, "250 grammi di")]),
    ("tre etti di prosciutto", [("300", "g", None, "tre etti di")]),
    ("2 bottiglie di vino rosso", [("2", None, "bottiglia", "2 bottiglie di")]),
    ("3 vasetti di miele", [("3", None, "vasetto", "3 vasetti di")]),
    ("una dozzina di uova", [("12", None, None, "una dozzina di")]),
    ("mezza dozzina di uova", [("6", None, None, "mezza dozzina di")]),
    ("vorrei sei uova", [("6", None, None, "sei")]),
    ("ventiquattro birre", [("24", None, None, "ventiquattro")]),
    ("duecentocinquanta grammi di formaggio", [("250", "g", None, "duecentocinquanta grammi di")]),
    ("un litro di latte", [("1", "l", None, "un litro di")]),
    ("mezzo litro di panna", [("0.5", "l", None, "mezzo litro di")]),
    ("un'insalata", [("1", None, None, "un'")]),
    ("2 kg di mele e 3 pere", [("2", "kg", None, "2 kg di"), ("3", None, None, "3")]),
    ("aggiungi 1,5 kg di mele gala", [("1.5", "kg", None, "1,5 kg di")]),
    ("quattro lattine di birra", [("4", None, "lattina", "quattro lattine di")]),
    ("2 confezioni di spaghetti", [("2", None, "confezione", "2 confezioni di")]),
    ("una bottiglia di chasselas", [("1", None, "bottiglia", "una bottiglia di")]),
    ("500g di ciliegie", [("500", "g", None, "500g di")]),
    ("75 cl di succo di mela", [("75", "cl", None, "75 cl di")]),
    ("due ore di riparazione", [("2", "h", None, "due ore di")]),
    ("mezz'ora di riparazione", [("0.5", "h", None, "mezz'ora di")]),
    ("ne prendo tre", [("3", None, None, "tre")]),
    (
        "2 baguette, sei croissant e un pane ai cereali",
        [("2", None, None, "2"), ("6", None, None, "sei"), ("1", None, None, "un")],
    ),
    ("sei uova e due baguette", [("6", None, None, "sei"), ("2", None, None, "due")]),
    ("sei bravo", []),
    ("tu sei gentile", []),
    ("ci sei?", []),
    ("ciao, sei stanca?", []),
    ("mi sei mancato", []),
    ("un po' di formaggio", []),
    ("cioccolato fondente 70 %", []),
    ("uova di quaglia (12)", []),
]  # fmt: skip

ENGLISH = [
    ("I'd like two loaves of sourdough bread", [("2", None, "loaf", "two loaves of")]),
    ("put 1.5 kg of gala apples in my basket", [("1.5", "kg", None, "1.5 kg of")]),
    ("add 6 wheat beers", [("6", None, None, "6")]),
    (
        "a kilo of carrots, a kilo of leeks and a cauliflower",
        [("1", "kg", None, "a kilo of"), ("1", "kg", None, "a kilo of"), ("1", None, None, "a")],
    ),
    ("half a kilo of cherries", [("0.5", "kg", None, "half a kilo of")]),
    ("a dozen eggs", [("12", None, None, "a dozen")]),
    ("half a dozen eggs", [("6", None, None, "half a dozen")]),
    ("two dozen eggs", [("24", None, None, "two dozen")]),
    ("2 lbs of apples", [("907.18474", "g", None, "2 lbs of")]),
    ("one and a half kilos of potatoes", [("1.5", "kg", None, "one and a half kilos of")]),
    ("a kilo and a half of potatoes", [("1.5", "kg", None, "a kilo and a half of")]),
    ("500g minced beef", [("500", "g", None, "500g")]),
    ("2 jars of honey", [("2", None, "jar", "2 jars of")]),
    ("3 bottles of gamay", [("3", None, "bottle", "3 bottles of")]),
    ("a 500 g jar of honey", [("500", "g", "jar", "a 500 g jar of")]),
    ("two 500 g jars of honey", [("1000", "g", "jar", "two 500 g jars of")]),
    ("twenty-four beers", [("24", None, None, "twenty-four")]),
    ("three packs of spaghetti", [("3", None, "pack", "three packs of")]),
    ("a bag of lentils", [("1", None, "bag", "a bag of")]),
    ("two hours of bike repair", [("2", "h", None, "two hours of")]),
    ("2 litres of milk", [("2", "l", None, "2 litres of")]),
    ("75cl of apple juice", [("75", "cl", None, "75cl of")]),
    ("baguette x3", [("3", None, None, "x3")]),
    ("2 x 500 g of honey", [("1000", "g", None, "2 x 500 g of")]),
    ("I want 3 baguettes and 2 croissants", [("3", None, None, "3"), ("2", None, None, "2")]),
    ("one baguette please", [("1", None, None, "one")]),
    ("1/2 kg of butter", [("0.5", "kg", None, "1/2 kg of")]),
    ("a hundred grams of ham", [("100", "g", None, "a hundred grams of")]),
    ("this one please", []),
    ("a bit of cheese", []),
    ("Dark chocolate 70%", []),
    ("Alpine Gruyère PDO, 12 months", []),
    ("a crate of 24 blonde beers", [("1", None, None, "a")]),
    ("Large XL eggs (6)", []),
    ("no onions", []),
]  # fmt: skip


def _cases(table: list[tuple[str, list[Read]]], lang: str) -> list:
    return [pytest.param(lang, text, expected, id=f"{lang}: {text}") for text, expected in table]


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    _cases(FRENCH, "fr") + _cases(GERMAN, "de") + _cases(ITALIAN, "it") + _cases(ENGLISH, "en"),
)
def test_quantities_are_read_from_what_shoppers_type(lang: str, text: str, expected: list[Read]) -> None:
    assert read(text, lang) == expected


def test_each_language_has_a_table_of_at_least_25_sentences() -> None:
    assert min(len(FRENCH), len(GERMAN), len(ITALIAN), len(ENGLISH)) >= 25


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("il y a 2 baguettes", [("2", None, None, "2")]),  # « a » is no article here
        ("fromage à raclette", []),  # nor is « à »
        ("vorrei sei uova", [("6", None, None, "sei")]),
        ("sei bravo", []),
        ("2 kg", [("2", "kg", None, "2 kg")]),
    ],
)
def test_quantities_are_read_without_knowing_the_language(text: str, expected: list[Read]) -> None:
    assert read(text, None) == expected


def test_the_rest_of_the_sentence_is_the_product() -> None:
    text = "ajoute 800 g de fromage à raclette"
    said = read_quantity(text, "fr")
    assert said is not None
    assert (text[: said.start] + text[said.end :]).split() == ["ajoute", "fromage", "à", "raclette"]


def test_a_number_alone_is_a_count() -> None:  # what NLU tags as the quantity entity
    assert [read_quantity(t) for t in ("2", "deux", "sei", "un")] == [
        SaidQuantity(D(2), None, None, 0, 1),
        SaidQuantity(D(2), None, None, 0, 4),
        SaidQuantity(D(6), None, None, 0, 3),
        SaidQuantity(D(1), None, None, 0, 2),
    ]
    assert read_quantity("beaucoup") is None
    assert read_quantity("") is None


def test_the_quantity_nlu_tagged_as_two_entities() -> None:
    assert said_quantity(D(800), "grammes") == SaidQuantity(D(800), "g", None, 0, 0)
    assert said_quantity(D(2), "Flaschen") == SaidQuantity(D(2), None, "flasche", 0, 0)
    assert said_quantity(D(3), None) == SaidQuantity(D(3), None, None, 0, 0)


# --- In sale units -------------------------------------------------------------------------------------------------


def said(amount: str, measure: str | None = None, container: str | None = None) -> SaidQuantity:
    return SaidQuantity(D(amount), measure, container, 0, 0)


def sale(units: str | None, *choices: int) -> SaleQuantity:
    return SaleQuantity(None if units is None else D(units), tuple(D(c) for c in choices))


@pytest.mark.parametrize(
    ("quantity", "unit", "expected"),
    [
        # by the kg: the exact weight; a count stays as said
        (said("800", "g"), "kg", sale("0.8")),
        (said("1.5", "kg"), "kg", sale("1.5")),
        (said("500", "g"), "kg", sale("0.5")),  # « une livre »
        (said("3"), "kg", sale("3")),
        (said("75", "cl"), "kg", sale(None)),  # a volume for a weight: ask
        # by the litre
        (said("1.5", "l"), "l", sale("1.5")),
        (said("75", "cl"), "l", sale("0.75")),
        (said("500", "ml"), "l", sale("0.5")),
        (said("1", "kg"), "l", sale(None)),
        # by the piece: whole pieces only; a weight cannot be converted
        (said("3"), "piece", sale("3")),
        (said("2", None, "loaf"), "piece", sale("2")),
        (said("1.5"), "piece", sale(None, 1, 2)),
        (said("0.5"), "piece", sale(None, 1)),
        (said("500", "g"), "piece", sale(None)),
        # by the hour
        (said("2", "h"), "hour", sale("2")),
        (said("2"), "hour", sale("2")),
        (said("1.5", "h"), "hour", sale(None, 1, 2)),
        (said("2", "h"), "piece", sale(None)),
        # packs of a weight: whole packs that make the weight, else the nearest whole counts
        (said("500", "g"), "500 g", sale("1")),
        (said("1", "kg"), "500 g", sale("2")),
        (said("1", "kg"), "250 g", sale("4")),
        (said("750", "g"), "250 g", sale("3")),
        (said("300", "g"), "500 g", sale(None, 1)),
        (said("1200", "g"), "500 g", sale(None, 2, 3)),
        (said("2", None, "pot"), "500 g", sale("2")),
        (said("1000", "g", "pot"), "500 g", sale("2")),  # « 2 pots de 500 g »
        (said("2", "kg"), "1 kg", sale("2")),
        (said("500", "g"), "1 kg", sale(None, 1)),
        (said("75", "cl"), "500 g", sale(None)),
        # packs of a volume
        (said("75", "cl"), "75 cl", sale("1")),
        (said("1.5", "l"), "75 cl", sale("2")),
        (said("1", "l"), "75 cl", sale(None, 1, 2)),
        (said("6", None, "bouteille"), "75 cl", sale("6")),
        (said("99", "cl"), "33 cl", sale("3")),
        (said("250", "ml"), "250 ml", sale("1")),
        # nothing said is one; nothing at all is a question
        (None, "kg", sale("1")),
        (None, "75 cl", sale("1")),
        (said("0"), "piece", sale(None, 1)),
        (said("2"), "bouquet", sale("2")),  # a unit we do not know is counted
    ],
)
def test_a_said_quantity_becomes_sale_units(quantity: SaidQuantity | None, unit: str, expected: SaleQuantity) -> None:
    assert to_sale_units(quantity, unit) == expected


@pytest.mark.parametrize(
    ("lang", "text", "unit", "expected"),
    [
        ("fr", "ajoute 800 g de fromage à raclette", "kg", "0.8"),
        ("de", "Bitte 500 Gramm Raclettekäse", "kg", "0.5"),
        ("fr", "un kilo et demi de pommes gala", "kg", "1.5"),
        ("it", "mezzo chilo di mele", "kg", "0.5"),
        ("en", "I'd like two loaves of sourdough bread", "piece", "2"),
        ("fr", "une livre de fraises", "500 g", "1"),
        ("en", "a kilo of acacia honey", "250 g", "4"),
        ("de", "füge 2 Flaschen Apfelsaft hinzu", "75 cl", "2"),
        ("fr", "un litre et demi de jus de pomme", "75 cl", "2"),
        ("fr", "4 bières blanches", "33 cl", "4"),
    ],
)
def test_what_shoppers_say_in_sale_units(lang: str, text: str, unit: str, expected: str) -> None:
    assert to_sale_units(read_quantity(text, lang), unit) == SaleQuantity(D(expected))


@pytest.mark.parametrize(
    ("name", "pieces"),
    [
        ("Œufs bio (6)", 6),
        ("Freilandeier (10 Stück)", 10),
        ("Uova di quaglia (12 pz.)", 12),
        ("Emballages alimentaires à la cire d'abeille (3)", 3),
        ("Bière blanche (33 cl)", None),  # a size, not a count
        ("Chocolat noir 70 %", None),
        ("Radis roses (botte)", None),
        ("Atriaux (1)", None),
    ],
)
def test_the_pieces_one_sale_unit_holds_are_read_from_the_name(name: str, pieces: int | None) -> None:
    assert pieces_per_unit(name) == pieces


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "une douzaine d'œufs bio", "2"),  # two boxes of 6
        ("de", "Ein Dutzend Bio-Eier", "2"),
        ("en", "six organic eggs", "1"),
        ("it", "18 uova bio", "3"),
        ("fr", "2 boîtes d'œufs bio", "2"),  # boxes are counted as said
        ("en", "2 organic eggs", "2"),  # fewer than a box: boxes, as before
        ("fr", "8 œufs bio", "8"),  # not a whole number of boxes: boxes
    ],
)
def test_a_count_of_pieces_becomes_the_boxes_that_hold_them(lang: str, text: str, expected: str) -> None:
    eggs = pieces_per_unit("Œufs bio (6)")
    assert to_sale_units(read_quantity(text, lang), "piece", eggs) == SaleQuantity(D(expected))


def test_hyphenated_pack_sizes_sixpacks_and_boxes_are_read() -> None:
    assert read("drei 250-g-Gläser Blütenhonig", "de") == [("750", "g", "glas", "drei 250-g-Gläser")]
    assert read("Ein Sixpack Amberbier", "de") == [("6", None, None, "Ein Sixpack")]
    assert read("2 Schachteln Freilandeier", "de") == [("2", None, "schachtel", "2 Schachteln")]


# --- Properties ----------------------------------------------------------------------------------------------------

_VOCABULARY = [
    "2", "1,5", "0.5", "½", "1/2", "12/05", "800g", "kg", "g", "l", "cl", "Gramm", "grammi", "kilo", "kilos", "chilo",
    "livre", "Pfund", "lbs", "et", "demi", "and", "a", "half", "e", "mezzo", "und", "ein", "halbes", "un", "une", "an",
    "eine", "uno", "una", "one", "sei", "deux", "zwei", "tre", "two", "vingt", "-", "quatre", "vierundzwanzig",
    "douzaine", "dozen", "Dutzend", "pots", "Flaschen", "loaves", "bottiglie", "de", "of", "di", "d", "'", "(", ")",
    "%", "x", "×", ",", "\n", "à", "17:00", "GE-7K3Q9M", "mois", "pommes", "baguettes", "bravo", "fromage", "1'000",
    "CHF", "h", "heures", "kg 500", "500 g jars",
]  # fmt: skip


@given(st.text(), st.sampled_from([None, *LANGS, "xx"]))
def test_reading_never_fails_on_any_text(text: str, lang: str | None) -> None:
    _check_spans(text, lang)


@given(st.lists(st.sampled_from(_VOCABULARY), max_size=12).map(" ".join), st.sampled_from([None, *LANGS]))
def test_reading_never_fails_on_shopping_words(text: str, lang: str | None) -> None:
    _check_spans(text, lang)


def _check_spans(text: str, lang: str | None) -> None:
    found = read_quantities(text, lang)
    ends = [0]
    for quantity in found:
        assert ends[-1] <= quantity.start < quantity.end <= len(text)  # in order, never overlapping
        assert quantity.amount >= 0
        ends.append(quantity.end)
    assert read_quantity(text, lang) == (found[0] if found else None)


# How each language writes an amount and a unit: (decimal mark, prefix, unit words, linking word, product).
_SAYINGS = {
    "fr": (",", "ajoute", {"g": ["g", "grammes"], "kg": ["kg", "kilos"], "cl": ["cl"], "l": ["l", "litres"]}, "de"),
    "de": (",", "bitte", {"g": ["g", "Gramm"], "kg": ["kg", "Kilo"], "cl": ["cl"], "l": ["l", "Liter"]}, ""),
    "it": (",", "vorrei", {"g": ["g", "grammi"], "kg": ["kg", "chili"], "cl": ["cl"], "l": ["l", "litri"]}, "di"),
    "en": (".", "add", {"g": ["g", "grams"], "kg": ["kg", "kilos"], "cl": ["cl"], "l": ["l", "litres"]}, "of"),
}
_PRODUCTS = {"fr": "fromage à raclette", "de": "Raclettekäse", "it": "formaggio", "en": "raclette cheese"}
_amounts = st.decimals(min_value=D("0.01"), max_value=D(999), places=2).map(lambda d: d.normalize())


@given(
    st.sampled_from(LANGS),
    _amounts,
    st.sampled_from(["g", "kg", "cl", "l"]),
    st.integers(0, 1),
    st.booleans(),
)
def test_an_amount_and_a_unit_written_out_are_read_back(
    lang: str, amount: Decimal, measure: str, word: int, glued: bool
) -> None:
    mark, prefix, units, link = _SAYINGS[lang]
    unit = units[measure][min(word, len(units[measure]) - 1)]
    number = f"{amount:f}".replace(".", mark)
    quantity = f"{number}{'' if glued and len(unit) <= 2 else ' '}{unit}"
    text = f"{prefix} {quantity} {link} {_PRODUCTS[lang]}".replace("  ", " ")
    said = read_quantity(text, lang)
    assert said is not None
    assert (said.amount, said.measure, said.container) == (amount, measure, None)
    assert text[said.start : said.end].strip() == f"{quantity} {link}".strip()


_CONTAINER_WORDS = {
    "fr": ("pots", "pot"),
    "de": ("Gläser", "glas"),
    "it": ("vasetti", "vasetto"),
    "en": ("jars", "jar"),
}


def _in_words(n: int, lang: str) -> str:
    """1 to 99 as people write them ("vingt et un", "einundzwanzig", "ventotto", "twenty-four")."""
    small = {
        "fr": "un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize dix-sept"
        " dix-huit dix-neuf",
        "de": "ein zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn sechzehn"
        " siebzehn achtzehn neunzehn",
        "it": "un due tre quattro cinque sei sette otto nove dieci undici dodici tredici quattordici quindici sedici"
        " diciassette diciotto diciannove",
        "en": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
        " seventeen eighteen nineteen",
    }[lang].split()
    tens = {
        "fr": ["vingt", "trente", "quarante", "cinquante", "soixante", "soixante", "quatre-vingt", "quatre-vingt"],
        "de": ["zwanzig", "dreissig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig"],
        "it": ["venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta", "ottanta", "novanta"],
        "en": ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"],
    }[lang]
    if n < 20:
        return small[n - 1]
    ten, unit = divmod(n, 10)
    if lang == "fr" and ten in (7, 9):
        unit += 10
    word = tens[ten - 2]
    if unit == 0:
        return word + ("s" if word == "quatre-vingt" else "")
    if lang == "fr":
        joined = " et " if unit in (1, 11) and word != "quatre-vingt" else "-"  # « vingt et un », « quatre-vingt-un »
        return f"{word}{joined}{small[unit - 1]}"
    if lang == "de":
        return f"{small[unit - 1]}und{word}"
    if lang == "it":
        return (word[:-1] if unit in (1, 8) else word) + ("uno" if unit == 1 else small[unit - 1])
    return f"{word}-{small[unit - 1]}"


@given(st.sampled_from(LANGS), st.integers(2, 99))
def test_a_count_in_words_is_read_back(lang: str, count: int) -> None:
    said_word, lemma = _CONTAINER_WORDS[lang]
    text = f"{_in_words(count, lang)} {said_word} {_SAYINGS[lang][3]} miel".replace("  ", " ")
    said = read_quantity(text, lang)
    assert said is not None, text
    assert (said.amount, said.measure, said.container) == (D(count), None, lemma), text


_IN_GRAMS = {"g": D(1), "kg": D(1000), "ml": D(1), "cl": D(10), "l": D(1000)}


@given(
    st.decimals(min_value=D("0.001"), max_value=D(100000), places=3),
    st.sampled_from([("g", "kg"), ("kg", "kg"), ("ml", "l"), ("cl", "l"), ("l", "l")]),
)
def test_loose_goods_times_their_unit_give_back_the_amount_said(amount: Decimal, measures: tuple[str, str]) -> None:
    measure, unit = measures
    units = to_sale_units(SaidQuantity(amount, measure, None, 0, 0), unit).units
    assert units is not None
    assert units * _IN_GRAMS[unit] == amount * _IN_GRAMS[measure]


@given(
    st.integers(1, 48),
    st.sampled_from(["100 g", "250 g", "500 g", "1 kg", "33 cl", "75 cl", "50 cl", "250 ml"]),
    st.sampled_from(["g", "kg", "ml", "cl", "l"]),
)
def test_packs_that_divide_evenly_times_their_size_give_back_the_amount_said(
    packs: int, unit: str, measure: str
) -> None:
    size, pack_measure = unit.split(" ")
    base = packs * D(size) * _IN_GRAMS[pack_measure]
    if (measure in ("g", "kg")) != (pack_measure in ("g", "kg")):
        return  # a weight for a volume is a question, tested above
    amount = base / _IN_GRAMS[measure]
    sale_quantity = to_sale_units(SaidQuantity(amount, measure, None, 0, 0), unit)
    assert sale_quantity == SaleQuantity(D(packs))
    assert sale_quantity.units is not None
    assert sale_quantity.units * D(size) * _IN_GRAMS[pack_measure] == amount * _IN_GRAMS[measure]


@given(st.integers(1, 5000), st.sampled_from(["100 g", "250 g", "500 g", "75 cl", "33 cl"]))
def test_amounts_that_do_not_divide_into_packs_get_the_nearest_whole_packs(grams: int, unit: str) -> None:
    size, measure = unit.split(" ")
    sale_quantity = to_sale_units(SaidQuantity(D(grams), "g" if measure == "g" else "ml", None, 0, 0), unit)
    ratio = D(grams) / (D(size) * _IN_GRAMS[measure])
    if ratio == ratio.to_integral_value():
        assert sale_quantity == SaleQuantity(ratio)
    else:
        assert sale_quantity.units is None
        assert sale_quantity.choices
        assert all(abs(choice - ratio) < 1 and choice >= 1 for choice in sale_quantity.choices)
