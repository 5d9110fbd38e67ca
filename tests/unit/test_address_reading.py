"""A delivery address read from one chat message in fr/de/it/en, and checked against the served zones.

Each table row is a message as people type it and what a courier needs from it; the properties say the
reading never raises and never invents a number or a postal code the message does not hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bootstrap import App
from checkout.addresses import AddressProblem, AddressReading, check_zone, read_address, served_zones
from checkout.delivery import add_slot, add_zone
from marketplace.accounts import OrganisationKind, add_organisation
from marketplace.settings import DEFAULT_CONFIG, PostalZone, load_settings

P = AddressProblem


@dataclass(frozen=True)
class Case:
    text: str
    street: str = ""
    number: str = ""
    postal_code: str = ""
    locality: str = ""
    details: str = ""
    problems: tuple[AddressProblem, ...] = ()
    care_of: str = ""
    extra: tuple[str, ...] = ()

    def __str__(self) -> str:  # the test id: the message itself
        return self.text.replace("\n", " / ")


def check(case: Case, lang: str) -> None:
    reading = read_address(case.text, lang)
    expected = (case.street, case.number, case.postal_code, case.locality, case.details, case.care_of, case.extra)
    found = (
        reading.street, reading.number, reading.postal_code, reading.locality, reading.details, reading.care_of,
        reading.extra,
    )  # fmt: skip
    assert found == expected
    assert set(reading.problems) == set(case.problems)


FRENCH = [
    Case("Rue de Carouge 50, 1205 Genève", "Rue de Carouge", "50", "1205", "Genève"),
    Case("Carouge 50 1205", "Carouge", "50", "1205", "Genève"),
    Case(
        "Rue du Marché 3, 3e étage, code 1234",
        "Rue du Marché",
        "3",
        details="3e étage, code 1234",
        problems=(P.NO_POSTAL_CODE,),
    ),
    Case("Rue du 31-Décembre 5", "Rue du 31-Décembre", "5", problems=(P.NO_POSTAL_CODE,)),
    Case("5 rue du 31-Décembre, 1207 Genève", "rue du 31-Décembre", "5", "1207", "Genève"),
    Case("Place des 22-Cantons 1, 1201 Genève", "Place des 22-Cantons", "1", "1201", "Genève"),
    Case("Chemin de l'Écu 12bis, 1219 Châtelaine", "Chemin de l'Écu", "12bis", "1219", "Châtelaine"),
    Case("Chemin de l’Écu 12bis, 1219 Châtelaine", "Chemin de l’Écu", "12bis", "1219", "Châtelaine"),
    Case("Av. de France 10 bis, 1202 Genève", "Av. de France", "10 bis", "1202", "Genève"),
    Case("Route d'Hermance 321, 1222 Vésenaz", "Route d'Hermance", "321", "1222", "Vésenaz"),
    Case("Route d’Hermance 321", "Route d’Hermance", "321", problems=(P.NO_POSTAL_CODE,)),
    Case("c/o Dupont, Rue des Bains 3, 1205 Genève", "Rue des Bains", "3", "1205", "Genève", care_of="Dupont"),
    Case(
        "Marie Dupont\nRue de Carouge 50\n1205 Genève\n2e étage, code 4521",
        "Rue de Carouge",
        "50",
        "1205",
        "Genève",
        "2e étage, code 4521",
        extra=("Marie Dupont",),
    ),
    Case(
        "Rue de Lausanne 12 1201 Genève 3e étage laisser chez le voisin",
        "Rue de Lausanne",
        "12",
        "1201",
        "Genève",
        "3e étage, laisser chez le voisin",
    ),
    Case("Rue Jacques-Dalphin 12, 1227 Carouge", "Rue Jacques-Dalphin", "12", "1227", "Carouge GE"),
    Case("Ch. de la Gravière 6, 1227 Les Acacias", "Ch. de la Gravière", "6", "1227", "Les Acacias"),
    Case("Rue de la Servette 91, CH-1202 Genève", "Rue de la Servette", "91", "1202", "Genève"),
    Case("Bd Carl-Vogt 2 1205 Genève Suisse", "Bd Carl-Vogt", "2", "1205", "Genève"),
    Case("Rue de Carouge 50, 1205 Genèv", "Rue de Carouge", "50", "1205", "Genève"),  # misspelt: the list wins
    Case("Rue de Carouge 50, 1205 Lausanne", "Rue de Carouge", "50", "1205", "Genève", problems=(P.LOCALITY_MISMATCH,)),
    Case("Rue des Voisins 12, 1205 Genève", "Rue des Voisins", "12", "1205", "Genève"),  # a street, not a neighbour
    Case("Route de Chancy 1234, 1213 Onex", "Route de Chancy", "1234", "1213", "Onex"),
    Case("Genève 1205, Rue de Carouge 50", "Rue de Carouge", "50", "1205", "Genève"),
    Case("1205 Genève", postal_code="1205", locality="Genève", problems=(P.NO_STREET, P.NO_NUMBER)),
    Case("Rue de Genève, 1205", "Rue de Genève", "", "1205", "Genève", problems=(P.NO_NUMBER,)),
    Case(
        "Case postale 123, 1211 Genève 1",
        postal_code="1211",
        locality="Genève",
        problems=(P.PO_BOX, P.NO_HOMES, P.NO_STREET, P.NO_NUMBER),
    ),
    Case("Rue du Stand 3, CP 45, 1204 Genève", "Rue du Stand", "3", "1204", "Genève", problems=(P.PO_BOX,)),
    Case("Rue de Genève 3, F-74100 Annemasse", "Rue de Genève", "3", problems=(P.NOT_SWISS,)),
    Case("Rue de Genève 3, 74100 Annemasse", "Rue de Genève", "3", problems=(P.NOT_SWISS,)),
    Case(
        "Rue de Carouge 50, 1205 Genève, appartement 12, sonner chez Müller",
        "Rue de Carouge",
        "50",
        "1205",
        "Genève",
        "appartement 12, sonner chez Müller",
    ),
    Case("Rue de Carouge, 50, 1205 Genève", "Rue de Carouge", "50", "1205", "Genève"),
    Case("Rue de Carouge 50 - 1205 Genève", "Rue de Carouge", "50", "1205", "Genève"),
    Case(
        "Rue de Carouge 50 (2e étage gauche), 1205 Genève", "Rue de Carouge", "50", "1205", "Genève", "2e étage gauche"
    ),
    Case("livrez-moi Rue de Carouge 50 à 1205 Genève svp", "Rue de Carouge", "50", "1205", "Genève"),
    Case("Rue de la Paix 3 à Carouge, 1227", "Rue de la Paix", "3", "1227", "Carouge GE"),
    Case("Rue de la Paix 3 à Carouge", "Rue de la Paix", "3", problems=(P.NO_POSTAL_CODE,)),
]

GERMAN = [
    Case("Bahnhofstrasse 12, 8001 Zürich", "Bahnhofstrasse", "12", "8001", "Zürich"),
    Case(
        "Bahnhofstr. 12, 8001 Zürich, 3. Stock, Türcode 4567",
        "Bahnhofstr.",
        "12",
        "8001",
        "Zürich",
        "3. Stock, Türcode 4567",
    ),
    Case("Bahnhofstrasse 12\n8001 Zürich\nTürcode 4567", "Bahnhofstrasse", "12", "8001", "Zürich", "Türcode 4567"),
    Case(
        "Spitalgasse 4, 3011 Bern, bitte beim Nachbarn abgeben",
        "Spitalgasse",
        "4",
        "3011",
        "Bern",
        "bitte beim Nachbarn abgeben",
    ),
    Case(
        "Limmatquai 88, 8001 Zürich, bei Müller klingeln", "Limmatquai", "88", "8001", "Zürich", "bei Müller klingeln"
    ),
    Case("c/o Meier, Seefeldstrasse 5, 8008 Zürich", "Seefeldstrasse", "5", "8008", "Zürich", care_of="Meier"),
    Case("Langstrasse 120a 8004 Zürich", "Langstrasse", "120a", "8004", "Zürich"),
    Case("Hans Muster\nMarktgasse 7\n3011 Bern", "Marktgasse", "7", "3011", "Bern", extra=("Hans Muster",)),
    Case("Rue du Rhône 12-14, 1204 Genf", "Rue du Rhône", "12-14", "1204", "Genève"),
    Case("Bundesplatz 3, CH-3005 Bern, EG", "Bundesplatz", "3", "3005", "Bern", "EG"),
    Case("Zürichstrasse 5, 8600 Dübendorf, Wohnung 12", "Zürichstrasse", "5", "8600", "Dübendorf", "Wohnung 12"),
    Case("Seestrasse Nr. 7, 6004 Luzern, 2. OG", "Seestrasse", "7", "6004", "Luzern", "2. OG"),
    Case("St. Alban-Vorstadt 5, 4052 Basel", "St. Alban-Vorstadt", "5", "4052", "Basel"),
    Case("Strasse des 17-Juni 3, 8004 Zuerich", "Strasse des 17-Juni", "3", "8004", "Zürich"),
    Case("Bahnhofstrasse", "Bahnhofstrasse", problems=(P.NO_NUMBER, P.NO_POSTAL_CODE)),
    Case(
        "Postfach 1234, 8021 Zürich",
        postal_code="8021",
        locality="Zürich",
        problems=(P.PO_BOX, P.NO_HOMES, P.NO_STREET, P.NO_NUMBER),
    ),
    Case("Marktgasse 7, Postfach, 3011 Bern", "Marktgasse", "7", "3011", "Bern", problems=(P.PO_BOX,)),
    Case("Marktstätte 1, D-78462 Konstanz", "Marktstätte", "1", problems=(P.NOT_SWISS,)),
    Case("Ich wohne an der Bahnhofstrasse 12, 8001 Zürich", "Bahnhofstrasse", "12", "8001", "Zürich"),
    Case("In der Au 5, 8001 Zürich", "In der Au", "5", "8001", "Zürich"),
    Case("An der Halde 3, 8001 Zürich, 1. Stock rechts", "An der Halde", "3", "8001", "Zürich", "1. Stock rechts"),
]

ITALIAN = [
    Case("Via Cantonale 7b, 6900 Lugano", "Via Cantonale", "7b", "6900", "Lugano"),
    Case("Via Nassa 5, 6900 Lugano, 2° piano, interno 4", "Via Nassa", "5", "6900", "Lugano", "2° piano, interno 4"),
    Case("Corso San Gottardo 35 6830 Chiasso", "Corso San Gottardo", "35", "6830", "Chiasso"),
    Case("Piazza Grande 1, 6600 Locarno", "Piazza Grande", "1", "6600", "Locarno"),
    Case(
        "Viale Stazione 10, 6500 Bellinzona, piano terra", "Viale Stazione", "10", "6500", "Bellinzona", "piano terra"
    ),
    Case("Via della Scala 5, 6900 Lugano", "Via della Scala", "5", "6900", "Lugano"),
    Case(
        "Via Pretorio 9, 6900 Lugano, codice portone 2580", "Via Pretorio", "9", "6900", "Lugano", "codice portone 2580"
    ),
    Case(
        "Via San Gottardo 12, 6900 Massagno, lasciare dal vicino",
        "Via San Gottardo",
        "12",
        "6900",
        "Massagno",
        "lasciare dal vicino",
    ),
    Case("presso Rossi, Via Cattedrale 3, 6900 Lugano", "Via Cattedrale", "3", "6900", "Lugano", care_of="Rossi"),
    Case("Via Lugano 5, 6500 Bellinzona", "Via Lugano", "5", "6500", "Bellinzona"),
    Case("Mario Rossi\nVia Nassa 5\n6900 Lugano", "Via Nassa", "5", "6900", "Lugano", extra=("Mario Rossi",)),
    Case("Via Motta 2A, 6850 Mendrisio", "Via Motta", "2A", "6850", "Mendrisio"),
    Case("Contrada di Sassello 4, 6900 Lugano", "Contrada di Sassello", "4", "6900", "Lugano"),
    Case("Via dell'Orto 3, 6600 Muralto", "Via dell'Orto", "3", "6600", "Muralto"),
    Case("Via Nassa 5, 6900", "Via Nassa", "5", "6900", "", problems=(P.LOCALITY_AMBIGUOUS,)),
    Case("Via Cantonale 7 bis, CH-6900 Lugano TI", "Via Cantonale", "7 bis", "6900", "Lugano"),
    Case(
        "Casella postale 45, 6901 Lugano",
        postal_code="6901",
        locality="Lugano",
        problems=(P.PO_BOX, P.NO_HOMES, P.NO_STREET, P.NO_NUMBER),
    ),
    Case("Via Besso 23, CP 1234, 6900 Lugano", "Via Besso", "23", "6900", "Lugano", problems=(P.PO_BOX,)),
    Case("Via Ciseri 4, I-20100 Milano", "Via Ciseri", "4", problems=(P.NOT_SWISS,)),
    Case("Abito in Via Nassa 5, 6900 Lugano, grazie", "Via Nassa", "5", "6900", "Lugano"),
]

ENGLISH = [
    Case("50 rue de Carouge 1205 Geneva", "rue de Carouge", "50", "1205", "Genève"),
    Case(
        "Rue de Carouge 50, 1205 Geneva, 2nd floor, door code 4521",
        "Rue de Carouge",
        "50",
        "1205",
        "Genève",
        "2nd floor, door code 4521",
    ),
    Case(
        "12 Rue du Rhône, 1204 Geneva, leave with the neighbour",
        "Rue du Rhône",
        "12",
        "1204",
        "Genève",
        "leave with the neighbour",
    ),
    Case("Flat 3, 12 Rue du Rhône, 1204 Geneva", "Rue du Rhône", "12", "1204", "Genève", "Flat 3"),
    Case(
        "c/o Smith, Route de Florissant 5, 1206 Geneva", "Route de Florissant", "5", "1206", "Genève", care_of="Smith"
    ),
    Case("Rue de Lyon 3, 1203 Geneva, please ring twice", "Rue de Lyon", "3", "1203", "Genève", "please ring twice"),
    Case("3 Avenue de Champel, 1206 Geneva", "Avenue de Champel", "3", "1206", "Genève"),
    Case(
        "Chemin du Pré-Cartelier 12, 1202 Geneva, ground floor",
        "Chemin du Pré-Cartelier",
        "12",
        "1202",
        "Genève",
        "ground floor",
    ),
    Case("Quai Wilson 47, 1201 Geneva, apartment 5", "Quai Wilson", "47", "1201", "Genève", "apartment 5"),
    Case("Rue Centrale 5, 1003 Lausanne, Switzerland", "Rue Centrale", "5", "1003", "Lausanne"),
    Case("Route de Meyrin 123, CH 1219 Le Lignon", "Route de Meyrin", "123", "1219", "Le Lignon"),
    Case("Rue du 31-Décembre 5, 1207 Geneva", "Rue du 31-Décembre", "5", "1207", "Genève"),
    Case("Bahnhofstrasse 12, 8001 Zurich", "Bahnhofstrasse", "12", "8001", "Zürich"),
    Case("50 rue de Carouge", "rue de Carouge", "50", problems=(P.NO_POSTAL_CODE,)),
    Case(
        "John Smith\n14 Chemin de l’Écu\n1219 Chatelaine",
        "Chemin de l’Écu",
        "14",
        "1219",
        "Châtelaine",
        extra=("John Smith",),
    ),
    Case(
        "P.O. Box 45, 1211 Geneva 1",
        postal_code="1211",
        locality="Genève",
        problems=(P.PO_BOX, P.NO_HOMES, P.NO_STREET, P.NO_NUMBER),
    ),
    Case(
        "PO Box 12, 1205 Geneva", postal_code="1205", locality="Genève", problems=(P.PO_BOX, P.NO_STREET, P.NO_NUMBER)
    ),
    Case("Rue de Carouge 50, 0000 Nowhere", "Rue de Carouge", "50", "0000", problems=(P.NOT_SWISS,)),
    Case(
        "10 Downing Street, London SW1A 2AA",
        "Downing Street",
        "10",
        problems=(P.NO_POSTAL_CODE,),
        extra=("London SW1A 2AA",),
    ),
    Case("I live at 50 rue de Carouge, 1205 Geneva", "rue de Carouge", "50", "1205", "Genève"),
]


@pytest.mark.parametrize("case", FRENCH, ids=str)
def test_french_messages(case: Case) -> None:
    check(case, "fr")


@pytest.mark.parametrize("case", GERMAN, ids=str)
def test_german_messages(case: Case) -> None:
    check(case, "de")


@pytest.mark.parametrize("case", ITALIAN, ids=str)
def test_italian_messages(case: Case) -> None:
    check(case, "it")


@pytest.mark.parametrize("case", ENGLISH, ids=str)
def test_english_messages(case: Case) -> None:
    check(case, "en")


def test_a_complete_reading_is_one_line_for_the_summary() -> None:
    reading = read_address("Rue de Carouge 50, 1205 Geneva", "en")
    assert reading.complete and not reading.refused
    assert reading.one_line() == "Rue de Carouge 50, 1205 Genève"
    assert reading.typed_locality == "Geneva"


def test_po_boxes_and_foreign_codes_are_refused_for_home_delivery() -> None:
    for text in ("Case postale 12, 1211 Genève", "Postfach 1234, 8021 Zürich", "PO Box 3, 1205 Geneva",
                 "Rue de Genève 3, F-74100 Annemasse", "Rue de Carouge 5, 1211 Genève"):  # fmt: skip
        reading = read_address(text, "fr")
        assert reading.refused and not reading.complete, text
    assert read_address("Postfach 1234, 8021 Zürich", "de").postal_code == "8021"  # the box number is no code
    assert read_address("Case postale 12, 1211 Genève", "fr").po_box


def test_a_locality_said_without_its_postal_code_is_kept_for_the_question() -> None:
    reading = read_address("Rue de la Paix 3 à Carouge", "fr")
    assert (reading.typed_locality, reading.postal_code, reading.locality) == ("Carouge", "", "")
    assert reading.problems == (P.NO_POSTAL_CODE,)


def test_the_localities_of_an_ambiguous_code_are_offered() -> None:
    reading = read_address("Via Nassa 5, 6900", "it")
    assert reading.localities == ("Lugano", "Massagno", "Paradiso")
    assert reading.complete  # a courier finds Via Nassa 5 in 6900: the locality is a question, not a refusal


def test_a_phone_number_with_the_address_is_kept_apart() -> None:
    reading = read_address("Rue de Carouge 50, 1205 Genève, 079 123 45 67", "fr")
    assert (reading.phone, reading.postal_code, reading.number) == ("079 123 45 67", "1205", "50")


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "bonjour", "1234567890", "???", "Genève"])
def test_nothing_to_read_asks_for_everything(text: str) -> None:
    reading = read_address(text, "fr")
    assert {P.NO_STREET, P.NO_NUMBER} <= set(reading.problems)
    assert not reading.complete


# --- properties ----------------------------------------------------------------------------------------

ADDRESS_PIECES = st.sampled_from([
    "Rue de Carouge", "Bahnhofstrasse", "Via Nassa", " 50", " 12bis", " 10 bis", " 7b", "-", "’", "'", ", ",
    "\n", " 1205", " CH-1205", " 1227", " 0000", " 74100", "F-", " Genève", " Geneva", " Lugano", " 3e étage",
    " code 1234", " Postfach", " case postale 12", " c/o ", "chez ", " 3. Stock", " piano", " interno 4",
    " 079 123 45 67", "+41", " 31-Décembre", " Nr.", " n°", " CH", " Suisse", " leave with the neighbour",
])  # fmt: skip
MESSAGES = st.one_of(
    st.text(max_size=700),
    st.lists(st.one_of(ADDRESS_PIECES, st.text(max_size=6)), max_size=25).map("".join),
)
LANGS = st.sampled_from(["fr", "de", "it", "en", "", "xx"])


def collapsed(text: str) -> str:
    return " ".join(text.split())


@given(MESSAGES, LANGS)
@example("Case postale 12, 1211 Genève 1\u00a0bis", "fr")
@example("1205" * 200, "fr")
@example("Rue ١٢٣٤ 5", "fr")  # digits of another script are no postal code
def test_reading_never_raises_and_invents_nothing(text: str, lang: str) -> None:
    reading = read_address(text, lang)
    assert isinstance(reading, AddressReading)
    if reading.number:
        assert collapsed(reading.number) in collapsed(text)
        assert re.match(r"[0-9]+", reading.number)
    if reading.postal_code:
        assert re.fullmatch(r"[0-9]{4}", reading.postal_code)
        assert reading.postal_code in text
    assert all(word in text for word in reading.street.split())  # the street is made of what was typed
    if reading.complete:
        assert reading.street and reading.number and reading.postal_code


@given(st.text(max_size=300), LANGS)
def test_reading_is_deterministic(text: str, lang: str) -> None:
    assert read_address(text, lang) == read_address(text, lang)


# --- served zones --------------------------------------------------------------------------------------


def test_a_served_code_and_one_outside_with_the_zones_to_show() -> None:
    zones = load_settings(DEFAULT_CONFIG).delivery.zones  # Geneva: 1200-1234, 1236-1258, 1281-1299
    inside = check_zone(read_address("Rue de Carouge 50, 1205 Genève", "fr").postal_code, zones)
    assert inside.served
    outside = check_zone(read_address("Bahnhofstrasse 12, 8001 Zürich", "de").postal_code, zones)
    assert not outside.served
    assert outside.zones == ("1200-1234", "1236-1258", "1281-1299")
    assert {"Genève", "Carouge GE", "Les Acacias", "Versoix"} <= set(outside.localities)
    assert "Zürich" not in outside.localities and "Chavannes-des-Bois" in outside.localities  # 1290 VD
    assert outside.localities == tuple(sorted(outside.localities, key=str.casefold))
    for code in ("", "0000", "1235", "12050", "١٢٠٥"):
        assert not check_zone(code, zones).served


def test_served_zones_follow_the_companies_once_they_publish_slots(app: App) -> None:
    with app.db.uow() as uow:
        assert served_zones(uow, app.settings) == app.settings.delivery.zones  # no company slots yet
        add_organisation(uow, "velo-ge", "Vélo GE", OrganisationKind.DELIVERY)
        add_organisation(uow, "cargo-rive", "Cargo Rive", OrganisationKind.DELIVERY)
        add_organisation(uow, "en-attente", "En attente", OrganisationKind.DELIVERY, pending=True)
        add_zone(uow, "velo-ge", "1200-1209")
        add_zone(uow, "cargo-rive", "1205-1229")
        add_zone(uow, "cargo-rive", "8001")  # outside the deployment's zones
        add_zone(uow, "en-attente", "1290-1299")  # not approved
        add_slot(uow, "velo-ge", "tue", "17:00", "19:00", 5, Decimal("6.00"))
        zones = served_zones(uow, app.settings)
    assert zones == (PostalZone(1200, 1229),)
    assert check_zone("1227", zones).served and not check_zone("1290", zones).served
    assert not check_zone("8001", zones).served
