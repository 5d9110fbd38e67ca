"""Names of saved addresses read from words, in fr/de/it/en: the name a message gives (« comme travail »,
"as office", « als Büro », « come casa », or one's own word), and the address a short message names at the
checkout (« livre au travail »), never a street that happens to hold such a word."""

from __future__ import annotations

import pytest

from checkout.address_book import SavedAddress
from dialogues.actions.addresses import label_given, label_meant, saved_named

GIVEN = [
    ("enregistre cette adresse comme travail", "work"),
    ("appelle cette adresse maison", "home"),
    ("nomme l'adresse 2 bureau", "work"),
    ("l'adresse 1 c'est chez moi", "home"),
    ("garde cette adresse sous le nom chalet", "chalet"),
    ("l'adresse 3 s'appelle chez maman", "chez maman"),
    ("enregistre cette adresse en tant que résidence secondaire", "résidence secondaire"),
    ("save this address as work", "work"),
    ("rename address 3 to cottage", "cottage"),
    ("that address is my mum's place", "mum's place"),
    ("speichere diese Adresse als Zuhause", "home"),
    ("das ist meine Arbeitsadresse", "work"),
    ("benenne Adresse 3 in Ferienhaus um", "Ferienhaus"),
    ("speichere die Adresse unter dem Namen Eltern", "Eltern"),
    ("salva questo indirizzo come lavoro", "work"),
    ("l'indirizzo 2 è il mio ufficio", "work"),
    ("salva l'indirizzo con il nome palestra", "palestra"),
    ("enregistre cette adresse", None),
    ("save this address", None),
]


@pytest.mark.parametrize(("text", "label"), GIVEN)
def test_the_name_a_message_gives(text: str, label: str | None) -> None:
    assert label_given(text) == label


MEANT = [
    ("livre au travail", "work"),
    ("à la maison", "home"),
    ("chez moi svp", "home"),
    ("zur Arbeit", "work"),
    ("nach Hause bitte", "home"),
    ("al lavoro", "work"),
    ("a casa", "home"),
    ("deliver to work", "work"),
    ("home", "home"),
    ("non, livre plutôt à la maison", "home"),
    ("nein, lieber zur Arbeit", "work"),
    ("Rue du Travail 5", None),
    ("du miel de la maison Dupont", None),
    ("oui", None),
]


@pytest.mark.parametrize(("text", "label"), MEANT)
def test_the_name_a_short_message_means(text: str, label: str | None) -> None:
    assert label_meant(text) == label


def test_the_address_a_message_names() -> None:
    work = SavedAddress(id=1, label="work", street="Boulevard Carl-Vogt 101", postal_code="1205")
    mum = SavedAddress(id=2, label="chez maman", street="Rue de Carouge 50", postal_code="1205")
    plain = SavedAddress(id=3, label="", street="Rue du Rhône 12", postal_code="1204")
    saved = [work, mum, plain]
    assert saved_named("livre au bureau", saved) is work
    assert saved_named("Zur Arbeit", saved) is work
    assert saved_named("chez maman", saved) is mum
    assert saved_named("à la maison", saved) is None  # no "home" among them
    assert saved_named("Rue du Travail 5", saved) is None
    assert saved_named("", saved) is None
