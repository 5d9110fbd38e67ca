"""Home delivery's address through the real stack (Rasa's REST channel, the trained model, the action server, the
database): typed in one message, kept by the order, offered again at the next checkout, changed at the summary;
a shared location."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from checkout.address_book import DeliveryAddress, list_addresses, order_delivery, save_address
from checkout.models import Order
from marketplace.accounts import person_for_chat
from marketplace.i18n import format_slot, translate
from tests.e2e.conftest import Conversation

pytestmark = pytest.mark.e2e

ORDER_NUMBER = re.compile(r"\bGE-[2-9A-HJ-NP-Z]{6}\b")


def delivered_to(stack, number: str) -> DeliveryAddress | None:
    with stack.db.uow() as uow:
        return order_delivery(uow.session.scalar(select(Order).where(Order.number == number)))


def slot_and_pay(french: Conversation) -> tuple[str, list[str]]:
    """After « Quel créneau vous convient ? »: the first slot, paid on delivery; the summary's lines."""
    slot_title = french.buttons[0][0]
    assert french.press(slot_title).endswith("Comment souhaitez-vous payer ?")
    return slot_title, french.say("à la livraison").splitlines()


def test_a_french_purchase_delivered_to_the_street_typed_then_remembered(stack, french):
    french.say("ajoute un pot de miel de forêt")
    assert french.say("je veux commander") == "Livraison à domicile ou retrait ?"
    assert french.say("livraison à domicile") == translate("reply.checkout.ask_address", "fr")
    assert french.say("Rue de Carouge 50, 3e étage, 1205 Genève") == (
        "📍 Adresse notée : Rue de Carouge 50, 1205 Genève\nÀ quel nom faut-il livrer ? (le nom sur la sonnette)"
    )
    assert french.say("Marie Dupont").startswith("Un numéro de téléphone pour le coursier ? C'est facultatif")
    assert french.say("079 123 45 67") == "Quel créneau vous convient ?"
    slot, summary = slot_and_pay(french)
    assert summary[-4:] == [
        f"Livraison à Rue de Carouge 50, 1205 Genève, pour Marie Dupont, {slot}",
        "Précisions pour le coursier : 3e étage",
        "Téléphone pour le coursier : 079 123 45 67",
        "Paiement : à la livraison. On confirme ?",
    ]
    number = ORDER_NUMBER.search(french.say("oui"))
    assert number
    assert delivered_to(stack, number[0]) == DeliveryAddress(
        street="Rue de Carouge 50", postal_code="1205", locality="Genève", recipient_name="Marie Dupont",
        details="3e étage", phone="079 123 45 67",
    )  # fmt: skip

    # The next checkout offers the same address; at the summary, « changer l'adresse » asks for another.
    french.say("ajoute un pot de miel de forêt")
    french.say("je veux commander")
    assert french.say("livraison à domicile") == "Livrer à Rue de Carouge 50 comme la dernière fois ?"
    assert french.press("Oui") == "📍 Adresse notée : Rue de Carouge 50, 1205 Genève\nQuel créneau vous convient ?"
    _, summary = slot_and_pay(french)
    assert summary[-4].startswith("Livraison à Rue de Carouge 50, 1205 Genève, pour Marie Dupont, ")
    assert french.say("changer l'adresse").startswith("À quelle adresse faut-il livrer ?")
    moved = french.say("Boulevard Carl-Vogt 101, 1205 Genève").splitlines()
    assert moved[0] == "📍 Adresse notée : Boulevard Carl-Vogt 101, 1205 Genève"
    assert moved[-1] == "Paiement : à la livraison. On confirme ?"  # same zone: straight back to the summary
    assert any(line.startswith("Livraison à Boulevard Carl-Vogt 101, 1205 Genève, pour Marie Dupont") for line in moved)
    second = ORDER_NUMBER.search(french.say("oui"))
    assert second and second[0] != number[0]
    assert delivered_to(stack, second[0]).street == "Boulevard Carl-Vogt 101"
    with stack.db.uow() as uow:
        saved = list_addresses(uow, person_for_chat(uow, french.sender))
        assert [(a.label, a.street) for a in saved] == [("", "Boulevard Carl-Vogt 101"), ("home", "Rue de Carouge 50")]


def test_an_address_outside_the_zones_is_refused_and_a_location_asks_for_the_street(stack, french):
    french.say("ajoute un pot de miel de forêt")
    french.say("je veux commander")
    french.say("livraison à domicile")
    refused = french.say("Bahnhofstrasse 12, 8001 Zürich")
    assert refused.startswith("Désolé, nous ne livrons pas à 8001 Zürich. Nous livrons dans les numéros postaux ")
    assert refused.endswith(translate("reply.checkout.ask_address", "fr"))
    located = french.say('/share_location{"latitude": "46.1983", "longitude": "6.1423"}')
    assert located == translate("reply.checkout.location_received", "fr")
    noted = french.say("Rue de Carouge 50, 1205 Genève")
    assert noted.startswith("📍 Adresse notée : Rue de Carouge 50, 1205 Genève")
    french.say("Marie Dupont")
    assert french.say("non") == "Quel créneau vous convient ?"
    _, summary = slot_and_pay(french)
    assert not any(line.startswith("Téléphone pour le coursier") for line in summary)
    number = ORDER_NUMBER.search(french.say("oui"))
    assert number
    kept = delivered_to(stack, number[0])
    assert (kept.street, str(kept.latitude), str(kept.longitude), kept.phone) == (
        "Rue de Carouge 50", "46.1983000", "6.1423000", ""
    )  # fmt: skip


def test_addresses_listed_and_deleted_by_chat(stack, french):
    with stack.db.uow() as uow:
        me = person_for_chat(uow, french.sender)
        save_address(uow, me, DeliveryAddress("Rue de Carouge 50", "1205", "Genève"), "home")
        save_address(uow, me, DeliveryAddress("Boulevard Carl-Vogt 101", "1205", "Genève"), "work")
        uow.commit()
    listed = french.say("mes adresses").splitlines()
    assert listed[0] == "Vos adresses de livraison :" and len(listed) == 4  # then how to name one
    assert listed[3] == translate("reply.addresses.name_hint", "fr")
    assert french.say("supprime l'adresse 2") == "Adresse supprimée : Rue de Carouge 50, 1205 Genève."
    with stack.db.uow() as uow:
        assert [a.label for a in list_addresses(uow, person_for_chat(uow, french.sender))] == ["work"]


def test_the_slot_shown_is_the_one_kept(stack, french):
    """The address steps leave the rest of the checkout as it was: the slot pressed is the order's."""
    french.say("ajoute un pot de miel de forêt")
    french.say("je veux commander")
    french.say("livraison à domicile")
    french.say("Carouge 50 1205")
    french.say("Marie Dupont")
    french.say("non")
    slot = french.buttons[0][1]
    _, summary = slot_and_pay(french)
    wanted = slot[slot.index('"time_slot": "') + 14 : -2]
    assert any(format_slot(wanted, "fr") in line for line in summary)
    number = ORDER_NUMBER.search(french.say("oui"))
    with stack.db.uow() as uow:
        assert uow.session.scalar(select(Order.time_slot).where(Order.number == number[0])) == wanted


def test_the_street_typed_in_the_chat_reaches_the_admin_and_the_couriers_run(stack, french, monkeypatch):
    """An order placed through Rasa: `admin_cli.py order show` and its company's courier's `/runs` carry the
    street the customer typed; a courier of no company gets nothing."""
    from typer.testing import CliRunner

    import admin_cli
    from bootstrap import App
    from bot.commands import Commands, Incoming
    from catalog.services import CatalogSearch

    french.say("ajoute un pot de miel de forêt")
    french.say("je veux commander")
    french.say("livraison à domicile")
    french.say("Chemin de l'Écu 12bis, 1219 Châtelaine")
    french.say("Ada Lovelace")
    assert french.say("non") == "Quel créneau vous convient ?"
    slot_and_pay(french)
    number = ORDER_NUMBER.search(french.say("oui"))[0]

    monkeypatch.setenv("DATABASE_URL", stack.settings.database_url)
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(stack.settings.data_dir))
    shown = CliRunner().invoke(admin_cli.cli, ["--lang", "fr", "order", "show", number], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Chemin de l'Écu 12bis" in shown.output and "Ada Lovelace" in shown.output

    with stack.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number))
        company, day = order.delivery_company.slug, order.time_slot[:10]
    commands = Commands(App(stack.settings, stack.db, CatalogSearch(stack.settings.default_language)))
    run = "\n".join(m.text for m in commands.handle(Incoming(stack.new_member(company), f"/runs {day}", "fr")))
    assert "Chemin de l'Écu 12bis" in run and "Ada" in run, run
    outsider = "\n".join(m.text for m in commands.handle(Incoming(stack.new_sender(), f"/runs {day}", "fr")))
    assert "Chemin de l'Écu" not in outsider and "Ada" not in outsider
