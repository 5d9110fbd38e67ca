"""Vendor and courier commands, as any chat platform delivers them: linking, stock, prices, orders, runs.

Replies are checked word for word (in the person's language) together with what the database holds.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bootstrap import App
from bot.commands import Commands, Incoming, command_of
from bot.rasa_client import BotMessage
from catalog.audit import audit_trail
from catalog.models import Product
from checkout.services import DeliveryChoice, add_to_basket, get_order, place_order
from checkout.status import OrderStatus
from marketplace.accounts import OrganisationKind, add_organisation, person_for_chat
from marketplace.i18n import format_chf
from marketplace.linking import create_link_code
from payments.services import open_payment, payment_state
from tests.conftest import make_product, person

DAY = date(2026, 11, 25)
HOME = DeliveryChoice("delivery", "1205", "2026-11-25 17:00-19:00", "on_delivery")
FARMER = "matrix:@anna:example.org"  # member of ferme-test (Tomates TOM, Œufs EGG)
NOT_LINKED_FR = (
    "Ceci est réservé aux producteurs et commerçants membres. "
    "Si vous en êtes un, envoyez /link suivi du code reçu de l'équipe du marché."
)


@pytest.fixture
def commands(app: App) -> Commands:
    return Commands(app, today=lambda: DAY)


def send(commands: Commands, address: str, text: str, lang: str = "fr") -> list[BotMessage]:
    return commands.handle(Incoming(address, text, lang))


def say(commands: Commands, address: str, text: str, lang: str = "fr") -> str:
    return "\n".join(m.text for m in send(commands, address, text, lang))


def chf(amount: str, lang: str = "fr") -> str:
    return format_chf(Decimal(amount), lang)


def product(app: App, product_id: int) -> tuple[Decimal, Decimal, bool]:
    """(stock, price, available) as the database holds them."""
    with app.db.uow() as uow:
        row = uow.session.get(Product, product_id)
        return row.stock, row.price_chf, row.available


def stock(app: App, product_id: int) -> Decimal:
    return product(app, product_id)[0]


def invite(app: App, slug: str) -> str:
    with app.db.uow() as uow:
        code, _ = create_link_code(uow, slug)
        uow.commit()
    return code


def test_command_parsing() -> None:
    assert command_of('/stock "miel de foret" 12') == ("stock", ["miel de foret", "12"])
    assert command_of("/stock@MarcheBot tomates 3") == ("stock", ["tomates", "3"])
    assert command_of("je cherche du miel") is None
    assert command_of("/add_to_basket") == ("add_to_basket", [])


@pytest.mark.usefixtures("shop")
def test_a_link_code_makes_a_vendor_member_once(app: App, commands: Commands) -> None:
    code = invite(app, "cave-test")
    linked = say(commands, "telegram:5005", f"/link {code.lower()}")  # case and dashes do not matter
    assert linked == (
        "C'est fait : vous agissez maintenant pour Cave Test. "
        "Essayez /products, /orders, /stock miel 12 ou /price miel 9.50."
    )
    listing = say(commands, "telegram:5005", "/products")
    assert listing == f"Produits de Cave Test :\n• Chasselas (CHA) : {chf('14.50')} / 75 cl, stock 24"
    invalid = (
        "Ce code de liaison n'est pas valable (inconnu, déjà utilisé ou expiré). "
        "Demandez-en un nouveau à l'équipe du marché."
    )
    assert say(commands, "telegram:6006", f"/link {code}") == invalid  # used once only
    assert say(commands, "telegram:6006", "/link AAAA-BBBB-CC") == invalid
    assert say(commands, "telegram:6006", "/products") == NOT_LINKED_FR


def test_unlinked_people_are_politely_refused(app: App, shop: dict[str, int], commands: Commands) -> None:
    answer = say(commands, "telegram:7007", "/stock tomates 3", lang="en")
    assert answer == (
        "This is only for member producers and shops. "
        "If you are one, send /link followed by the code the marketplace team gave you."
    )
    assert say(commands, "telegram:7007", "/stock", lang="en").startswith("This is only for member producers")
    assert stock(app, shop["tomato"]) == Decimal(10)


def test_stock_by_exact_name_and_price_in_any_form(app: App, shop: dict[str, int], commands: Commands) -> None:
    assert say(commands, FARMER, "/stock tomates 12") == "Stock de « Tomates » : 12 (kg)."
    assert stock(app, shop["tomato"]) == Decimal(12)
    assert say(commands, FARMER, "/price TOM CHF 6.20") == (
        f"« Tomates » passe de {chf('4.80')} à {chf('6.20')} / kg. Les commandes déjà passées gardent leur prix."
    )
    assert product(app, shop["tomato"])[1] == Decimal("6.20")
    say(commands, FARMER, "/price tomates 6.5 fr.")
    assert product(app, shop["tomato"])[1] == Decimal("6.50")
    with app.db.uow() as uow:
        trail = audit_trail(uow)
        assert [(e.field, e.old_value, e.new_value) for e in reversed(trail)] == [
            ("stock", "10.000", "12"),
            ("price", "4.80", "6.20"),
            ("price", "6.20", "6.50"),
        ]
        assert all(e.actor_id == shop["farmer"] for e in trail)


@pytest.mark.usefixtures("shop")
def test_an_exact_sku_wins_in_any_case_even_with_dashes(app: App, commands: Commands) -> None:
    # fold() turns "FER-BOU-1" into "fer bou 1": an SKU must be compared as typed, or it never matches.
    with app.db.uow() as uow:
        candle = make_product(uow, "ferme-test", "FER-BOU-1", "Bougie", "12.00", "40", category="household")
        scented = make_product(uow, "ferme-test", "FER-BOU-2", "Bougie parfumée", "14.00", "40", category="household")
        uow.commit()
    assert say(commands, FARMER, "/stock fer-bou-1 7") == "Stock de « Bougie » : 7 (pièce)."
    assert say(commands, FARMER, "/price FER-BOU-2 15") == (
        f"« Bougie parfumée » passe de {chf('14.00')} à {chf('15.00')} / pièce. "
        "Les commandes déjà passées gardent leur prix."
    )
    assert product(app, candle)[:2] == (Decimal(7), Decimal("12.00"))
    assert product(app, scented)[:2] == (Decimal(40), Decimal("15.00"))


@pytest.mark.usefixtures("shop")
def test_the_which_product_buttons_resend_the_sku_and_do_not_loop(app: App, commands: Commands) -> None:
    with app.db.uow() as uow:
        candle = make_product(uow, "ferme-test", "FER-BOU-1", "Bougie", "12.00", "40", category="household")
        make_product(uow, "ferme-test", "FER-BOU-2", "Bougie parfumée", "14.00", "40", category="household")
        uow.commit()
    [question] = send(commands, FARMER, "/stock bougies 5")
    assert question.text == "Lequel de vos produits voulez-vous dire par « bougies » ?"
    assert [(b.title, b.payload) for b in question.buttons] == [
        ("Bougie (FER-BOU-1)", "/stock FER-BOU-1 5"),
        ("Bougie parfumée (FER-BOU-2)", "/stock FER-BOU-2 5"),
    ]
    assert stock(app, candle) == Decimal(40)  # nothing changed yet
    [pressed] = send(commands, FARMER, question.buttons[0].payload)
    assert (pressed.text, pressed.buttons) == ("Stock de « Bougie » : 5 (pièce).", ())
    assert stock(app, candle) == Decimal(5)


def test_a_fuzzy_match_asks_for_confirmation_with_a_button(app: App, shop: dict[str, int], commands: Commands) -> None:
    [question] = send(commands, FARMER, "/stock tomatos 7")
    assert question.text == "Lequel de vos produits voulez-vous dire par « tomatos » ?"
    assert [(b.title, b.payload) for b in question.buttons] == [("Tomates (TOM)", "/stock TOM 7")]
    assert stock(app, shop["tomato"]) == Decimal(10)  # nothing changed yet
    assert say(commands, FARMER, question.buttons[0].payload) == "Stock de « Tomates » : 7 (kg)."
    assert stock(app, shop["tomato"]) == Decimal(7)


def test_a_vendor_never_reaches_another_vendors_products(app: App, shop: dict[str, int], commands: Commands) -> None:
    unknown = "Je ne trouve pas « {} » parmi vos produits. /products les liste tous."
    assert say(commands, FARMER, "/stock chasselas 0") == unknown.format("chasselas")
    assert say(commands, FARMER, "/unavailable CHA") == unknown.format("CHA")  # another vendor's SKU
    assert say(commands, FARMER, "/price CHA 1") == unknown.format("CHA")
    assert product(app, shop["wine"]) == (Decimal(24), Decimal("14.50"), True)


def test_availability_round_trip(app: App, shop: dict[str, int], commands: Commands) -> None:
    off = "Œufs (6) est retiré de la vente (vous pouvez le remettre avec /available)."
    assert say(commands, FARMER, "/unavailable EGG") == off
    assert product(app, shop["eggs"])[2] is False
    assert say(commands, FARMER, "/products") == (
        "Produits de Ferme Test :\n"
        f"• Œufs (6) (EGG) : {chf('5.20')} / pièce, stock 3 — hors vente\n"
        f"• Tomates (TOM) : {chf('4.80')} / kg, stock 10"
    )
    assert say(commands, FARMER, "/available œufs (6)") == "Œufs (6) est de nouveau en vente."
    assert product(app, shop["eggs"])[2] is True


def test_bad_numbers_get_an_answer_not_a_change(app: App, shop: dict[str, int], commands: Commands) -> None:
    assert say(commands, FARMER, "/stock tomates beaucoup") == "Valeur non valable pour quantity : « beaucoup »."
    assert say(commands, FARMER, "/stock tomates 2.5") == "Stock de « Tomates » : 2,5 (kg)."  # by the kg, French comma
    assert say(commands, FARMER, "/stock EGG 1.5") == "La quantité « 1.5 » n'est pas valable pour ce produit."
    refused = "Le prix « {} » n'est pas un montant en francs valable (ex. 6.50)."
    assert say(commands, FARMER, "/price tomates -3") == refused.format("-3")
    assert say(commands, FARMER, "/price tomates 4.805") == refused.format("4.805")
    assert say(commands, FARMER, "/stock") == "Par exemple : /stock miel de forêt 12"
    assert say(commands, FARMER, "/price tomates") == "Par exemple : /price pain complet 6.50"
    assert product(app, shop["tomato"])[:2] == (Decimal("2.5"), Decimal("4.80"))
    assert product(app, shop["eggs"])[0] == Decimal(3)


@pytest.mark.usefixtures("shop")
def test_commands_answer_in_the_language_the_person_chose(app: App, commands: Commands) -> None:
    with app.db.uow() as uow:
        person_for_chat(uow, FARMER).language = "de"  # said in the chat: « parle-moi en allemand »
        uow.commit()
    assert say(commands, FARMER, "/stock tomates 12", lang="fr") == "Lagerbestand «Tomates»: 12 (kg)."
    # Someone new is answered in their platform's language, or in the deployment's when it is not offered.
    assert say(commands, "telegram:8008", "/stock tomates 1", lang="it").startswith("Questa funzione è riservata")
    assert say(commands, "telegram:8009", "/stock tomates 1", lang="es") == NOT_LINKED_FR


def _order(app: App, shop: dict[str, int]) -> str:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], Decimal(2))
        add_to_basket(uow, buyer, shop["wine"], Decimal(1))
        order = place_order(uow, app.settings, buyer, HOME)
        open_payment(uow, app.settings, order)
        uow.commit()
        return order.number


def test_vendor_orders_and_ready(app: App, shop: dict[str, int], commands: Commands) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        uow.commit()
    assert say(commands, FARMER, "/orders") == "Aucune commande à préparer pour le moment."
    number = _order(app, shop)
    [listing] = send(commands, FARMER, "/orders")
    assert listing.text == (
        "Commandes en cours de Ferme Test (1) :\n"
        f"• {number} (passée, paiement attendu) mer. 25 nov. 17:00-19:00 : 2 kg Tomates — {chf('9.60')}"
    )
    assert [(b.title, b.payload) for b in listing.buttons] == [(f"✅ {number} prête", f"/ready {number}")]
    assert say(commands, FARMER, listing.buttons[0].payload) == (
        f"Merci ! La commande {number} est marquée prête ; la cliente ou le client est prévenu."
    )
    with app.db.uow() as uow:
        parts = {p.vendor.slug: p.status for p in get_order(uow, number).vendor_orders}
    assert parts == {"ferme-test": OrderStatus.PREPARED, "cave-test": OrderStatus.PLACED}
    [prepared] = send(commands, FARMER, "/orders")  # still at the vendor's, with no button left
    assert prepared.text == (
        "Commandes en cours de Ferme Test (1) :\n"
        f"• {number} (préparée, paiement attendu) mer. 25 nov. 17:00-19:00 : 2 kg Tomates — {chf('9.60')}"
    )
    assert prepared.buttons == ()
    # A consumer cannot mark anything ready; the other vendor only its own part.
    assert say(commands, "telegram:1001", f"/ready {number}") == NOT_LINKED_FR
    say(commands, "telegram:2002", f"/ready {number}")
    with app.db.uow() as uow:
        parts = {p.vendor.slug: p.status for p in get_order(uow, number).vendor_orders}
    assert parts == {"ferme-test": OrderStatus.PREPARED, "cave-test": OrderStatus.PREPARED}


def test_courier_run_pickups_then_drops_and_delivery(app: App, shop: dict[str, int], commands: Commands) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        add_organisation(uow, "autre-velo", "Autre Vélo", OrganisationKind.DELIVERY)
        uow.commit()
    number = _order(app, shop)
    courier, stranger = "telegram:3003", "telegram:3004"
    say(commands, courier, f"/link {invite(app, 'velo-test')}")
    say(commands, stranger, f"/link {invite(app, 'autre-velo')}")
    assert say(commands, courier, "/runs") == (  # every pick-up first, then the drops; cash to collect
        "Tournée Vélo Test, 2026-11-25 :\n"
        f"1. Enlever {number} chez Cave Test (17:00-19:00) : 1 75 cl Chasselas\n"
        f"2. Enlever {number} chez Ferme Test (17:00-19:00) : 2 kg Tomates\n"
        f"3. Livrer {number} au 1205 (17:00-19:00) : 2 kg Tomates, 1 75 cl Chasselas\n"
        f"   À encaisser : {chf('31.10')}"
    )
    assert say(commands, stranger, "/runs") == "Rien à livrer le 2026-11-25."
    refused = say(commands, stranger, f"/delivered {number}")  # another company's courier: not even told it exists
    assert refused == f"Je ne trouve pas de commande « {number} » à votre nom."
    with app.db.uow() as uow:
        assert get_order(uow, number).status == OrderStatus.PLACED
    assert say(commands, courier, f"/picked {number}") == f"Commande {number} enlevée : bonne route !"
    paid = say(commands, courier, f"/delivered {number} payé")
    # 2 x 4.80 + 14.50 + 7.00 delivery, already a multiple of 5 centimes
    assert paid == (
        f"Commande {number} livrée. Merci !\nPaiement encaissé pour {number} : {chf('31.10')} (arrondi {chf('0.00')})."
    )
    with app.db.uow() as uow:
        order = get_order(uow, number)
        assert {p.status for p in order.vendor_orders} == {OrderStatus.DELIVERED}
        assert payment_state(uow, order).state == "paid"
    assert "Rien à livrer" not in say(commands, courier, "/runs")  # done stops stay listed, ticked
    assert say(commands, "telegram:1001", "/runs") == (  # consumers are not couriers
        "Cette commande est réservée aux livreurs et livreuses d'une entreprise de livraison partenaire."
    )
