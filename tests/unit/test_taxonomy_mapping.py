"""The taxonomy is deployment data: a region's TOML extends the shipped base, and sources' own words (in fr, de, it,
en, with or without accents) map onto our slugs."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.taxonomy import UNCLASSIFIED, TaxonomyError, base_taxonomy, load_taxonomy, word_key
from marketplace.settings import DEFAULT_CONFIG, PROJECT_ROOT, SettingsError, load_settings

REGION = """
[taxonomy.categories.flour]
kind = "good"
fr = "Farines du moulin"
de = "Mühlenmehl"
it = "Farine del mulino"
en = "Mill flour"
words = ["moulin", "Mühle"]

[taxonomy.categories.honey]
words = ["Bienenwachs", "cire d'abeille"]

[taxonomy.labels.fairtrade-ch]
fr = "Équitable Suisse"
de = "Fair Schweiz"
it = "Equo Svizzera"
en = "Swiss fair"

[taxonomy.synonyms]
groups = [["epeautre", "dinkel", "farro", "spelt"]]

[taxonomy.units]
"botte" = "piece"
"Sack" = "5 kg"
"""


def deployment(tmp_path: Path, extra: str) -> Path:
    """Geneva's file with `extra` in place of its [taxonomy] section."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").split("\n# The catalog's vocabulary for this region")[0]
    path = tmp_path / "region.toml"
    path.write_text(text.replace('data_dir = "../var/geneva"', f'data_dir = "{tmp_path}"') + extra, encoding="utf-8")
    return path


def test_a_region_extends_categories_labels_synonyms_and_units_in_its_toml(tmp_path):
    taxonomy = load_settings(deployment(tmp_path, REGION), environ={}).taxonomy
    flour = taxonomy.categories["flour"]
    assert (flour.kind, flour.name("de"), flour.name("it")) == ("good", "Mühlenmehl", "Farine del mulino")
    # An existing term keeps its names and gains words; the base is untouched.
    assert taxonomy.categories["honey"].name("fr") == "Miel"
    assert taxonomy.category_slug("cire d'abeille") == "honey"
    assert base_taxonomy().category_slug("cire d'abeille") is None
    assert taxonomy.label_slug("Fair Schweiz") == "fairtrade-ch" and "fairtrade-ch" not in base_taxonomy().labels
    assert ("epeautre", "dinkel", "farro", "spelt") in taxonomy.synonym_groups
    assert (taxonomy.unit_code("bottes"), taxonomy.unit_code("Sack")) == ("piece", "5 kg")
    # The region's own slug wins over the shipped "grains" for its own words and names.
    assert (taxonomy.category_slug("Mühle"), taxonomy.category_slug("Mill flour")) == ("flour", "flour")


def test_the_shipped_deployments_load_their_sections():
    geneva = load_settings(DEFAULT_CONFIG, environ={}).taxonomy
    sion = load_settings(PROJECT_ROOT / "config" / "sion.toml", environ={}).taxonomy
    assert geneva.categories["bike-repair"].kind == "service" and "bike-repair" not in sion.categories
    assert geneva.category_slug("Velowerkstatt") == "bike-repair"
    assert geneva.category_slug("Dinkel") == "grains" and sion.category_slug("Dinkel") is None
    assert sion.label_slug("Marke Wallis") == "marque_valais" and geneva.label_slug("Marke Wallis") is None
    assert sion.category_slug("Trockenfleisch") == "charcuterie"
    for taxonomy in (geneva, sion):
        for term in (*taxonomy.categories.values(), *taxonomy.labels.values()):
            assert all(term.names.get(lang) for lang in ("fr", "de", "it", "en")), term.slug


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[taxonomy.categories.flour]\nkind='good'\nfr='Farine'\n", "needs its name in fr, de, it, en (missing de)"),
        ("[taxonomy.categories.x]\nkind='goods'\nfr='a'\nde='b'\nit='c'\nen='d'\n", 'kind must be "good" or "service"'),
        ("[taxonomy.categories.Flour]\nfr = 'Farine'\n", "a slug is lower-case letters"),
        ("[taxonomy.labels.organic]\nwords = 'bio'\n", "taxonomy.labels.organic.words must be a list of words"),
        ("[taxonomy.labels.organic]\nkind = 'good'\n", "unknown key 'kind'"),
        ("[taxonomy.units]\nbotte = 'bundle'\n", "taxonomy.units.botte: 'bundle' is not one of our units"),
        ("[taxonomy.synonyms]\ngroups = [['alone']]\n", "a list of lists of two words or more"),
        ("[taxonomy.categorie.flour]\nfr = 'x'\n", "unknown key 'categorie'"),
        ("[taxonomy]\ncategories = 3\n", "taxonomy.categories must be a section"),
    ],
)
def test_a_wrong_taxonomy_section_stops_the_deployment_naming_the_key(tmp_path, extra, message):
    with pytest.raises(SettingsError, match=r"region\.toml") as raised:
        load_settings(deployment(tmp_path, "\n" + extra), environ={})
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("word", "slug"),
    [
        ("flour", "grains"), ("Farine", "grains"), ("MEHL", "grains"), ("farina", "grains"), ("Farines", "grains"),
        ("céréales", "grains"), ("cereales", "grains"), ("Getreide", "grains"),
        ("oil", "oils"), ("Öl", "oils"), ("oel", "oils"), ("huiles", "oils"), ("olio", "oils"),
        ("chocolate", "sweets"), ("Chocolat", "sweets"), ("schokolade", "sweets"), ("cioccolato", "sweets"),
        ("Süssigkeiten", "sweets"), ("services", "services"), ("Dienstleistungen", "services"), ("servizi", "services"),
        ("Légumes", "vegetables"), ("legumes", "vegetables"), ("Gemüse", "vegetables"), ("gemuse", "vegetables"),
        ("verdura", "vegetables"), ("œufs", "eggs"), ("OEUF", "eggs"), ("uova", "eggs"), ("Käse", "cheese"),
        ("kaese", "cheese"), ("fromage", "cheese"), ("Produits laitiers", "dairy"), ("Milch", "dairy"),
        ("latte", "dairy"), ("Bäckerei", "bakery"), ("pain", "bakery"), ("vins", "wine"), ("Wein", "wine"),
        ("réparation", "repairs"), ("Reparaturen", "repairs"), ("cold_cuts", "charcuterie"),
        ("cold-cuts", "charcuterie"), ("  Épicerie  ", "grocery"), ("spices", "grocery"),
    ],
)  # fmt: skip
def test_category_words_in_four_languages_with_or_without_accents_map_onto_our_slug(word, slug):
    assert base_taxonomy().category_slug(word) == slug


@pytest.mark.parametrize(
    ("word", "slug"),
    [
        ("fairtrade", "fair_trade"), ("Fair-Trade", "fair_trade"), ("fair trade", "fair_trade"),
        ("Commerce équitable", "fair_trade"), ("commerce equitable", "fair_trade"), ("Fairer Handel", "fair_trade"),
        ("commercio equo", "fair_trade"), ("Max Havelaar", "fair_trade"), ("bio", "organic"), ("Biologique", "organic"),
        ("biologico", "organic"), ("ökologisch", "organic"), ("Knospe", "bio_suisse"), ("Bourgeon", "bio_suisse"),
        ("DOP", "aop"), ("AOC", "aop"), ("PDO", "aop"), ("glutenfrei", "gluten_free"), ("gluten-free", "gluten_free"),
        ("Senza glutine", "gluten_free"), ("vrac", "zero_waste"), ("unverpackt", "zero_waste"), ("végane", "vegan"),
        ("GRTA", "grta"),
    ],
)  # fmt: skip
def test_label_words_in_four_languages_map_onto_our_slug(word, slug):
    assert base_taxonomy().label_slug(word) == slug


def test_a_sources_own_mapping_comes_first_and_its_targets_may_be_written_loosely():
    taxonomy = load_settings(DEFAULT_CONFIG, environ={}).taxonomy
    categories = {"Bike parts": "bike-repair", "Oil": "household", "weird": "no-such-category"}
    assert taxonomy.category_slug("bike parts") is None
    assert taxonomy.category_slug("BIKE PARTS", categories) == "bike-repair"
    assert taxonomy.category_slug("oil", categories) == "household"  # this source sells massage oil
    assert taxonomy.category_slug("weird", categories) is None  # a wrong target maps nothing
    assert taxonomy.category_slug("flour", categories) == "grains"  # words it does not map: ours
    labels = {"FT": "fair-trade", "eco": "Bourgeon Bio Suisse"}
    assert (taxonomy.label_slug("ft", labels), taxonomy.label_slug("Eco", labels)) == ("fair_trade", "bio_suisse")
    assert taxonomy.mapping_problems(categories, labels) == [
        "category mapping 'weird' -> 'no-such-category': no such category"
    ]


def test_unmapped_words_give_none_and_never_a_guess():
    taxonomy = base_taxonomy()
    for word in ("bike parts", "gadgets", "", "   ", "--", "x" * 500):
        assert taxonomy.category_slug(word) is None
        assert taxonomy.label_slug(word) is None
    assert UNCLASSIFIED == "" and UNCLASSIFIED not in taxonomy.categories


def test_unit_words_of_sources():
    taxonomy = base_taxonomy()
    assert [taxonomy.unit_code(w) for w in ("Stück", "stk", "pièces", "kilo", "Liter", "heures", "Stunde", "pz")] == [
        "piece", "piece", "piece", "kg", "l", "hour", "hour", "piece",
    ]  # fmt: skip
    assert [taxonomy.unit_code(w) for w in ("500 gr", "500g", "75 cl", "1 Liter", "0,5 l", "2 kilos")] == [
        "500 g", "500 g", "75 cl", "1 l", "0.5 l", "2 kg",
    ]  # fmt: skip
    assert taxonomy.unit_code("dozen") is None and taxonomy.unit_code("500 parsecs") is None
    assert taxonomy.unit_code("Sack", {"sack": "5 kg"}) == "5 kg"


def test_word_keys_ignore_case_accents_ligatures_plurals_and_separators():
    assert word_key("Fair-Trade") == word_key("fair_trade") == word_key("FAIR  TRADES") == "fair trade"
    assert word_key("Œufs") == word_key("oeuf")


def test_a_settings_file_without_taxonomy_gets_the_shipped_base(tmp_path):
    assert load_settings(deployment(tmp_path, ""), environ={}).taxonomy is base_taxonomy()
    assert load_taxonomy(None) is base_taxonomy() and load_taxonomy({}) is base_taxonomy()


def test_a_wrong_section_raises_a_taxonomy_error_outside_settings_too():
    with pytest.raises(TaxonomyError, match=r"taxonomy\.labels\.x: a new term needs its name"):
        load_taxonomy({"labels": {"x": {"fr": "X"}}})
