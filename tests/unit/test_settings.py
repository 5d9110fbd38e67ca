"""One TOML file per deployment; nothing is hard-wired to Geneva."""

from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.settings import PROJECT_ROOT, SettingsError, load_settings

CONFIG = PROJECT_ROOT / "config"


def test_geneva_deployment():
    s = load_settings(CONFIG / "geneva.toml", environ={})
    assert s.name == "GE consomme local"
    assert s.languages == ("fr", "de", "it", "en") and s.default_language == "fr"
    assert s.local_currency.name == "Léman" and s.local_currency.rate_to_chf == Decimal(1)
    assert s.vat_rates == {"reduced": Decimal("2.6"), "standard": Decimal("8.1")}
    assert s.delivery.serves("1205") and s.delivery.serves("1227")
    assert not s.delivery.serves("1003") and not s.delivery.serves("12O5") and not s.delivery.serves("120")
    assert s.database_url == f"sqlite:///{(CONFIG.parent / 'var/geneva/marketplace.sqlite3').resolve()}"


def test_another_town_only_needs_another_file():
    s = load_settings(CONFIG / "sion.toml", environ={})
    assert s.local_currency.name == "Farinet" and s.languages[0] == "fr" and "it" not in s.languages
    assert s.delivery.serves("1950") and not s.delivery.serves("1205")
    assert s.delivery.fee_for(Decimal("500")) == Decimal("9.50")  # no free-delivery threshold there


@pytest.mark.parametrize(
    ("config", "served", "not_served"),
    [
        # Both ends of each range, and the codes just outside: 1200-1234, 1236-1258, 1281-1299.
        ("geneva.toml", ["1200", "1234", "1236", "1258", "1281", "1299"], ["1199", "1235", "1259", "1280", "1300"]),
        # "1958" is a zone of one code.
        ("sion.toml", ["1950", "1951", "1958", "1962", "1967"], ["1949", "1952", "1957", "1959", "1961", "1968"]),
    ],
)
def test_home_delivery_serves_every_code_of_a_zone_including_both_ends(
    config: str, served: list[str], not_served: list[str]
):
    delivery = load_settings(CONFIG / config, environ={}).delivery
    assert [code for code in served if not delivery.serves(code)] == []
    assert [code for code in not_served if delivery.serves(code)] == []


@pytest.mark.parametrize("code", ["01205", "1205 0", "12050", "+1205", "1205.0", "", "1 205"])
def test_a_postal_code_is_exactly_four_digits(code: str):
    delivery = load_settings(CONFIG / "geneva.toml", environ={}).delivery
    assert delivery.serves(" 1205 ")  # surrounding spaces are not part of the code
    assert not delivery.serves(code)


def test_database_url_and_config_file_come_from_the_environment():
    env = {"SMARTKET_CONFIG": str(CONFIG / "sion.toml"), "DATABASE_URL": "postgresql+psycopg://x@h/db"}
    s = load_settings(environ=env)
    assert s.slug == "sion" and s.database_url == "postgresql+psycopg://x@h/db"


def test_a_broken_deployment_file_is_reported_clearly(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[marketplace]\nname = "X"\nslug = "x"\nlanguages = ["fr", "xx"]\ndata_dir = "."\n')
    with pytest.raises(SettingsError, match="languages"):
        load_settings(bad, environ={})
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})
