"""What a person shares instead of typing: the share offer in Rasa's answer, and the payloads built from a
location, a `geo:` URI or a phone number (bot/rasa_client.py, bot/sharing.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from bot.matrix_bot import MatrixChannel, location_uri
from bot.rasa_client import BotMessage, Button, to_messages
from bot.router import is_payload
from bot.sharing import contact_payload, geo_coordinates, geo_payload, location_payload, phone_number
from bot.telegram_bot import TelegramChannel
from bot.terminal import render

QUESTION = {"recipient_id": "x", "text": "À quelle adresse livrer ?"}


def test_a_share_offer_is_folded_into_the_question_before_it() -> None:
    answer = [QUESTION, {"recipient_id": "x", "custom": {"share": ["location", "contact"]}}]
    assert to_messages(answer) == [BotMessage("À quelle adresse livrer ?", share=("location", "contact"))]


def test_a_share_offer_keeps_the_questions_buttons_and_only_known_values_in_our_order() -> None:
    answer = [
        {"text": "Livrer à Rue de Carouge 50 ?", "buttons": [{"title": "Oui", "payload": "/affirm"}]},
        {"custom": {"share": ["contact", "fax", "location", "contact", 7, None, ["location"]]}},
    ]
    [message] = to_messages(answer)
    assert message.buttons == (Button("Oui", "/affirm"),) and message.share == ("location", "contact")


def test_a_share_offer_with_nothing_before_it_is_a_message_of_its_own() -> None:
    assert to_messages([{"custom": {"share": ["contact"]}}]) == [BotMessage(share=("contact",))]
    assert to_messages([{"custom": {"share": ["location"]}}, QUESTION]) == [
        BotMessage(share=("location",)),
        BotMessage("À quelle adresse livrer ?"),
    ]


def test_two_offers_for_one_question_add_up() -> None:
    answer = [QUESTION, {"custom": {"share": ["contact"]}}, {"custom": {"share": ["location"]}}]
    assert to_messages(answer)[0].share == ("location", "contact")


@pytest.mark.parametrize(
    "custom",
    [
        {"share": "location"},  # not a list
        {"share": None},
        {"share": {"location": True}},
        {"share": []},
        {"share": ["gps", 1.5, {"x": 1}]},
    ],
)
def test_a_malformed_share_offer_adds_nothing_and_no_empty_message(custom: dict[str, Any]) -> None:
    assert to_messages([QUESTION, {"custom": custom}]) == [BotMessage("À quelle adresse livrer ?")]
    assert to_messages([{"custom": custom}]) == []


def test_other_custom_payloads_still_work_and_a_message_with_its_own_text_keeps_its_offer() -> None:
    answer = [
        QUESTION,
        {"custom": {"document": "/data/payments/GE-1.pdf", "caption": "QR"}},
        {"text": "Votre numéro ?", "custom": {"share": ["contact"]}},
    ]
    assert to_messages(answer) == [
        BotMessage("À quelle adresse livrer ?"),
        BotMessage("QR", document="/data/payments/GE-1.pdf"),
        BotMessage("Votre numéro ?", share=("contact",)),
    ]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(st.one_of(JSONISH, st.fixed_dictionaries({"custom": st.fixed_dictionaries({"share": JSONISH})}))))
def test_no_rasa_answer_breaks_the_reading(answer: list[Any]) -> None:
    messages = to_messages(answer)
    offers = [item for item in answer if isinstance(item, dict) and item.keys() == {"custom"}]
    assert len(messages) <= sum(isinstance(item, dict) for item in answer) - len(offers) + 1
    for message in messages:
        assert set(message.share) <= {"location", "contact"} and len(set(message.share)) == len(message.share)


# --- payloads ------------------------------------------------------------------------------------------


def entities(payload: str | None) -> dict[str, str]:
    assert payload is not None and is_payload(payload), payload  # the router lets it through as a button's
    return json.loads(payload[payload.index("{") :])


def test_a_location_becomes_strings_of_at_most_six_decimals() -> None:
    payload = location_payload(46.19831234567, 6.1423)
    assert payload == '/share_location{"latitude": "46.198312", "longitude": "6.1423"}'
    assert entities(location_payload(-33.8, 151)) == {"latitude": "-33.8", "longitude": "151"}
    assert entities(location_payload(-0.0000001, 180)) == {"latitude": "0", "longitude": "180"}


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(90.5, 6.1), (46.2, -180.01), (float("nan"), 6.1), (46.2, float("inf")), (True, 6.1), (None, 6.1), ("x", 1)],
)
def test_a_location_out_of_range_or_not_a_number_is_refused(latitude: Any, longitude: Any) -> None:
    assert location_payload(latitude, longitude) is None


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("geo:46.1983,6.1423", ("46.1983", "6.1423")),
        ("geo:46.1983,6.1423;u=35", ("46.1983", "6.1423")),
        ("GEO:46.1983,6.1423,372.5;crs=wgs84;u=12.5", ("46.1983", "6.1423")),
        ("geo:-33.8688,151.2093;name=home", ("-33.8688", "151.2093")),
        ("geo:46.1983,6.1423?q=Rue+de+Carouge", None),  # an address search, not a position
        ("geo:46.1983;6.1423", None),
        ("geo:46.1983", None),
        ("geo:,6.1423", None),
        ("geo:46.1983,6.1423;crs=epsg3857", None),  # another reference system
        ("geo:46.1983,6.1423;u=-5", None),
        ("geo:46.1983,6.1423;u=much", None),
        ("geo:４６.1983,6.1423", None),  # full-width digits
        ('geo:46.1983,6.1423;x="}', None),
        ("geo:46.1983,6.1423\n/share_contact", None),
        ("http://geo:46,6", None),
        ("geo:46." + "1" * 5000 + ",6", None),
    ],
)
def test_geo_uris_are_read_strictly(uri: str, expected: tuple[str, str] | None) -> None:
    assert geo_coordinates(uri) == expected


def test_a_geo_uri_gives_the_same_payload_as_a_telegram_location() -> None:
    assert geo_payload("geo:46.19831234567,6.1423;u=35") == location_payload(46.19831234567, 6.1423)
    assert geo_payload("geo:91,6.1423") is None and geo_payload(None) is None


def test_the_geo_uri_of_an_m_location_event_old_and_new_form() -> None:
    assert location_uri({"msgtype": "m.location", "body": "ici", "geo_uri": "geo:46.2,6.1"}) == "geo:46.2,6.1"
    assert location_uri({"m.location": {"uri": "geo:46.2,6.1"}}) == "geo:46.2,6.1"
    assert location_uri({"org.matrix.msc3488.location": {"uri": "geo:1,2"}}) == "geo:1,2"
    assert location_uri({"geo_uri": 46.2}) is None and location_uri("geo:1,2") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("41791234567", "+41791234567"),  # as Telegram often sends it
        ("+41 79 123 45 67", "+41791234567"),
        ("0041 (79) 123-45-67", "+41791234567"),
        ("0791234567", None),  # a national number: which country?
        ("+41", None),
        ("+4179123456789012", None),  # longer than E.164 allows
        ('+41", "admin": "1', None),
        ("+41 79 123 45 67\n", "+41791234567"),
        ("٤١٧٩١٢٣٤٥٦٧", None),  # Arabic-Indic digits
        (41791234567, None),
    ],
)
def test_phone_numbers_are_read_as_international_numbers(raw: Any, expected: str | None) -> None:
    assert phone_number(raw) == expected


def test_a_contact_payload_carries_one_phone_entity_built_with_json() -> None:
    assert contact_payload("41791234567") == '/share_contact{"phone": "+41791234567"}'
    assert entities(contact_payload("+41 79 123 45 67")) == {"phone": "+41791234567"}
    assert contact_payload('41"}, {"x') is None


@given(st.text(max_size=80))
def test_no_text_breaks_the_readers(text: str) -> None:
    for payload in (geo_payload(text), contact_payload(text), location_payload(text, text)):
        assert payload is None or is_payload(payload)


# --- how each channel offers it --------------------------------------------------------------------


def test_telegram_offers_request_buttons_labelled_in_the_persons_language() -> None:
    keyboard = TelegramChannel.share_keyboard(("location", "contact"), "de")
    assert keyboard is not None and keyboard.one_time_keyboard and keyboard.resize_keyboard
    [[location], [contact]] = keyboard.keyboard
    assert (location.text, location.request_location) == ("📍 Meinen Standort teilen", True)
    assert (contact.text, contact.request_contact) == ("📞 Meine Telefonnummer teilen", True)
    assert TelegramChannel.share_keyboard(("contact",), "it").keyboard[0][0].text == "📞 Condividi il mio numero"  # type: ignore[union-attr]
    assert TelegramChannel.share_keyboard((), "fr") is None


def test_matrix_adds_a_hint_line_when_a_location_may_be_shared() -> None:
    question = BotMessage("Adresse ?", (Button("Retrait", "/pickup"),), share=("location", "contact"))
    hint = "You can also send me your location with your Matrix app's location sharing."
    assert MatrixChannel.render(question, "en") == f"Adresse ?\n1. Retrait\n{hint}"
    assert MatrixChannel.render(BotMessage("Téléphone ?", share=("contact",)), "fr") == "Téléphone ?"
    assert MatrixChannel.render(BotMessage(share=("location",)), "en") == hint


def test_the_terminal_chat_shows_the_question_and_no_button_it_cannot_press() -> None:
    out = io.StringIO()
    shown = render(
        Console(file=out, width=120),
        [BotMessage("Adresse ?", share=("location",)), BotMessage(share=("contact",))],
        "fr",
    )
    assert shown == [] and out.getvalue().strip() == "bot  Adresse ?"
