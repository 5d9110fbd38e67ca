"""The privacy notice (issue 13) quotes the retention the code enforces: its numbers are the settings' numbers, in
all four languages, with no placeholder left; and the [privacy] settings refuse what would make no sense."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.commands import Incoming
from bot.rasa_client import BotMessage
from bot.router import Router
from marketplace.settings import PROJECT_ROOT, PrivacySettings, Settings, SettingsError, load_settings
from privacy.notice import full_notice, start_notice

LANGS = ("fr", "de", "it", "en")
GENEVA = PROJECT_ROOT / "config" / "geneva.toml"
SION = PROJECT_ROOT / "config" / "sion.toml"
# Numbers nobody would choose, so that finding one in the text can only mean it came from the settings.
ODD = PrivacySettings(
    abandoned_basket_days=41,
    conversation_days=97,
    expired_link_code_days=13,
    delivered_address_days=37,
    payment_file_days=211,
    accounting_years=12,
)
ODD_GRACE = 19
WORDS = {  # how each language writes a number of days, hours, years
    "fr": ("41 jours", "97 jours", "13 jours", "37 jours", "211 jours", "12 ans", "19 heures"),
    "de": ("41 Tage", "97 Tage", "13 Tage", "37 Tage", "211 Tage", "12 Jahre", "19 Stunden"),
    "it": ("41 giorni", "97 giorni", "13 giorni", "37 giorni", "211 giorni", "12 anni", "19 ore"),
    "en": ("41 days", "97 days", "13 days", "37 days", "211 days", "12 years", "19 hours"),
}


def geneva() -> Settings:
    return load_settings(GENEVA, environ={})


def odd(settings: Settings) -> Settings:
    delivery = dataclasses.replace(settings.delivery, address_grace_hours=ODD_GRACE)
    return dataclasses.replace(settings, privacy=ODD, delivery=delivery)


def quoted(settings: Settings, *, payment_files: bool = True) -> set[int]:
    p = settings.privacy
    numbers = {
        p.abandoned_basket_days, p.conversation_days, p.expired_link_code_days, p.delivered_address_days,
        p.accounting_years, settings.delivery.address_grace_hours,
    }  # fmt: skip
    return numbers | ({p.payment_file_days} if payment_files else set())


def numbers_in(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\d+", text)}


def leftovers(text: str) -> list[str]:
    """Placeholders not filled, and message keys gettext gave back for want of a translation."""
    return re.findall(r"\{[^}]*\}|privacy\.[a-z_.]+", text)


@pytest.mark.parametrize("lang", LANGS)
def test_the_full_notice_quotes_exactly_the_settings_numbers(lang: str) -> None:
    settings = geneva()
    text = full_notice(settings, lang)
    assert numbers_in(text) == quoted(settings), text
    assert leftovers(text) == []


@pytest.mark.parametrize("lang", LANGS)
def test_changing_the_settings_changes_the_notice(lang: str) -> None:
    before, after = full_notice(geneva(), lang), full_notice(odd(geneva()), lang)
    assert numbers_in(after) == quoted(odd(geneva())) == {41, 97, 13, 37, 211, 12, ODD_GRACE}
    for words in WORDS[lang]:
        assert words in after and words not in before, words
    assert leftovers(after) == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_start_notice_is_short_quotes_the_conversation_delay_and_names_the_commands(lang: str) -> None:
    settings = geneva()
    text = start_notice(settings, lang)
    assert numbers_in(text) == {settings.privacy.conversation_days}
    assert WORDS[lang][1] in start_notice(odd(settings), lang)  # 97 days
    for command in ("/privacy", "/mydata", "/forget"):
        assert command in text
    assert leftovers(text) == [] and len(text) < 400 and "\n" not in text


@pytest.mark.parametrize("lang", ("de", "it", "en"))
def test_each_language_has_its_own_words(lang: str) -> None:
    settings = geneva()
    assert full_notice(settings, lang) != full_notice(settings, "fr")
    assert start_notice(settings, lang) != start_notice(settings, "fr")


def test_one_of_a_unit_is_singular() -> None:
    privacy = dataclasses.replace(ODD, abandoned_basket_days=1, conversation_days=1)
    one = dataclasses.replace(geneva(), privacy=privacy)
    for lang, singular, plural in [("fr", "1 jour", "1 jours"), ("de", "1 Tag", "1 Tage"), ("en", "1 day", "1 days")]:
        text = full_notice(one, lang)
        assert re.search(rf"(?<!\d){singular}\b", text) and not re.search(rf"(?<!\d){plural}\b", text), lang


def test_the_notice_names_the_deployment_and_its_own_local_currency() -> None:
    text = full_notice(geneva(), "fr")
    assert "GE consomme local" in text and "Léman" in text


def test_a_deployment_without_payments_does_not_speak_of_payment_files() -> None:
    sion = load_settings(SION, environ={})
    assert sion.payments is None
    for lang in ("fr", "de", "en"):
        text = full_notice(sion, lang)
        assert numbers_in(text) == quoted(sion, payment_files=False)
        assert "Valais local" in text and "Léman" not in text and leftovers(text) == []


# --- the [privacy] settings -----------------------------------------------------------------------------------


def deployment(tmp_path: Path, privacy: str, grace: int = 12) -> Path:
    """Geneva's file with `privacy` as its [privacy] section."""
    text = GENEVA.read_text(encoding="utf-8")
    start = text.index("\n[privacy]\n")
    end = text.index("\n[", start + 1)
    text = text[:start] + text[end:] + f"\n[privacy]\n{privacy}\n"
    text = text.replace("address_grace_hours = 12", f"address_grace_hours = {grace}")
    path = tmp_path / "deployment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_both_deployments_state_their_delays() -> None:
    expected = PrivacySettings(30, 90, 7, 30, 180, 10, 6)
    assert geneva().privacy == expected
    assert load_settings(SION, environ={}).privacy == expected


def test_a_missing_section_or_key_takes_the_default(tmp_path: Path) -> None:
    settings = load_settings(deployment(tmp_path, "conversation_days = 60"), environ={})
    assert settings.privacy == dataclasses.replace(PrivacySettings(), conversation_days=60)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("conversation_day = 60", "unknown setting privacy.conversation_day; known: abandoned_basket_days"),
        ('conversation_days = "60"', "privacy.conversation_days must be a whole number, got '60'"),
        ("conversation_days = 1.5", "privacy.conversation_days must be a whole number, got 1.5"),
        ("conversation_days = true", "privacy.conversation_days must be a whole number, got True"),
        ("abandoned_basket_days = 0", "privacy.abandoned_basket_days must be at least 1, got 0"),
        ("accounting_years = 5", "privacy.accounting_years must be at least 10, got 5 (accounting records"),
        ("payment_file_days = -1", "privacy.payment_file_days must be at least 1, got -1"),
    ],
)
def test_a_wrong_privacy_setting_is_refused_with_a_clear_message(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(deployment(tmp_path, section), environ={})


def test_an_order_may_not_drop_its_address_before_the_courier_stops_seeing_it(tmp_path: Path) -> None:
    path = deployment(tmp_path, "delivered_address_days = 1", grace=36)
    with pytest.raises(SettingsError, match=r"delivered_address_days \(1 days\) must cover .*\(36 hours\)"):
        load_settings(path, environ={})
    assert load_settings(deployment(tmp_path, "delivered_address_days = 2", grace=48), environ={}).privacy
    assert (
        load_settings(deployment(tmp_path, "expired_link_code_days = 0"), environ={}).privacy.expired_link_code_days
        == 0
    )


# --- where people read it -------------------------------------------------------------------------------------


class Rasa:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, _sender: str, text: str, _metadata: dict) -> list[BotMessage]:
        self.sent.append(text)
        return [BotMessage("Bonjour !")]


@dataclasses.dataclass
class People:
    """What the router asks of bot.commands here: the deployment, and each person's language."""

    app: SimpleNamespace

    def menu_for(self, _address: str, language: str | None = None) -> tuple[str, tuple[str, ...]]:
        return language or "fr", ()


@pytest.mark.parametrize("lang", LANGS)
def test_start_opens_with_the_short_notice_and_privacy_answers_the_whole_one(lang: str) -> None:
    settings = odd(geneva())
    rasa = Rasa()
    router = Router(rasa, People(SimpleNamespace(settings=settings)), "telegram")  # type: ignore[arg-type]
    start = asyncio.run(router.handle(Incoming("telegram:1", "/start", lang)))
    assert [m.text for m in start] == [start_notice(settings, lang), "Bonjour !"]
    whole = asyncio.run(router.handle(Incoming("telegram:1", "/privacy", lang)))
    assert [m.text for m in whole] == [full_notice(settings, lang)]
    assert rasa.sent == ["/greet"], "/privacy is answered by the bot itself"
