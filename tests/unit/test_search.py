"""Search: typos, accents, ligatures, plurals, other languages, synonyms, categories, filters, ranking."""

import pytest

from catalog.search import IndexedProduct, SearchFilters, SearchIndex
from catalog.text import fold, tokens


def product(pid, fr, en="", de="", category="vegetables", labels=(), vendor=1, vendor_name="Ferme des Verchers"):
    names = {k: v for k, v in {"fr": fr, "en": en, "de": de}.items() if v}
    return IndexedProduct(pid, names, category, list(labels), vendor, vendor_name)


CATALOG = [
    product(1, "Miel de fleurs", "Flower honey", "Blütenhonig", "honey", ["organic"], 2, "Abeilles du Salève"),
    product(2, "Miel de forêt", "Forest honey", "Waldhonig", "honey", [], 2, "Abeilles du Salève"),
    product(3, "Alpkäse de la Gruyère", "Alpine cheese", "Alpkäse", "cheese", ["aop"], 3, "Fromagerie de Meinier"),
    product(4, "Tomme vaudoise", "Tomme cheese", "Tomme", "cheese", [], 3, "Fromagerie de Meinier"),
    product(5, "Œufs frais (6)", "Fresh eggs (6)", "Frische Eier (6)", "eggs", ["organic"], 1),
    product(6, "Tomates cerises", "Cherry tomatoes", "Kirschtomaten", "vegetables", ["organic", "grta"], 1),
    product(7, "Carottes", "Carrots", "Rüebli", "vegetables", ["grta"], 1),
    product(8, "Pain complet", "Wholemeal bread", "Vollkornbrot", "bakery", [], 4, "Boulangerie du Molard"),
    product(9, "Révision complète de vélo", "Full bike service", "Velo-Service", "repairs", [], 5, "Roue Libre"),
    product(10, "Chasselas de Satigny", "Chasselas white wine", "Chasselas", "wine", [], 6, "Domaine des Bossons"),
]


@pytest.fixture(scope="module")
def index():
    return SearchIndex(CATALOG)


def top(index, query, n=3, **filters):
    return [h.product_id for h in index.search(query, SearchFilters(**filters), limit=n)]


def test_folding_handles_case_accents_ligatures_and_plurals():
    assert fold("Œufs FRAIS à Genève") == "oeufs frais a geneve"
    assert tokens("les œufs") == tokens("oeuf") == ["oeuf"]
    assert tokens("Tomates") == tokens("tomate")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("miel", {1, 2}),
        ("mielle", {1, 2}),  # typo
        ("MIEL de Fleur", {1}),
        ("honey", {1, 2}),  # other language
        ("Honig", {1, 2}),  # via synonym
        ("oeufs", {5}),  # ligature folded
        ("eggs", {5}),
        ("tomate", {6}),  # singular finds plural
        ("tomatos", {6}),  # typo in English
        ("fromage d'alpage", {3}),  # synonym across languages
        ("käse", {3, 4}),
        ("korn", {8}),  # inside a German compound word (Vollkornbrot)
        ("brot", {8}),
        ("velo", {9}),
        ("réparation vélo", {9}),
        ("salève", {1, 2}),  # producer name
    ],
)
def test_shoppers_find_what_they_mean(index, query, expected):
    assert set(top(index, query, n=len(expected))) == expected


@pytest.mark.parametrize("query", ["légumes", "Gemüse", "vegetables", "verdura"])
def test_category_names_work_in_every_language(index, query):
    assert set(top(index, query, n=10)) == {6, 7}


def test_cheese_query_lists_cheeses_by_category_and_synonym(index):
    assert set(top(index, "fromage", n=10)) == {3, 4}


def test_filters_narrow_results(index):
    assert top(index, "miel", label="organic") == [1]
    assert top(index, "", category="cheese", n=10) == [3, 4]  # empty query lists by name
    assert top(index, "miel", vendor_id=1) == []
    assert top(index, "", n=10) == []  # no query, no filter: nothing to list


def test_ranking_is_deterministic_and_ties_break_by_name(index):
    first = index.search("fromage")
    assert [h.product_id for h in first] == [h.product_id for h in SearchIndex(reversed(CATALOG)).search("fromage")]
    scores = [h.score for h in index.search("légumes", limit=10)]
    assert scores == sorted(scores, reverse=True)
    assert top(index, "légumes", n=10) == [7, 6]  # equal scores: Carottes before Tomates


def test_nonsense_finds_nothing(index):
    assert top(index, "xqzwv") == []
    assert top(index, "le la les de") == []


def test_an_empty_catalog_finds_nothing_instead_of_failing():
    empty = SearchIndex([])
    assert empty.search("miel") == []
    assert empty.search("", SearchFilters(category="honey")) == []
