"""Who sees what of a delivery address (issue 12): a vendor the order number, the slot and the recipient's
first name; the courier of the order's own company the whole address, details and phone until the drop is
done plus the grace period, then only the postal code; a courier of another company nothing at all.

`/runs` shows each drop as one block: recipient, street, details, a tap-to-call link and a map link, drops
ordered by slot, postal code and street. Checked on the replies and on the data the core returns.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from bootstrap import App
from bot.commands import Commands, Incoming
from checkout import notifications
from checkout.address_book import DeliveryAddress, set_order_delivery
from checkout.drops import map_url, phone_e164, tel_uri
from checkout.runs import courier_drop, run_for
from checkout.services import DeliveryChoice, add_to_basket, change_status, get_order, place_order
from checkout.status import OrderStatus
from marketplace.accounts import OrganisationKind, add_member, add_organisation, get_organisation, person_for_chat
from marketplace.errors import OrderNotFound
from marketplace.i18n import format_chf
from marketplace.outbox import OutboxMessage
from tests.conftest import person
from tests.support.clock import ManualClock
from work.couriers import courier_run
from work.vendors import open_orders

D = Decimal
RUN_DAY = date(2026, 11, 25)
DAY = RUN_DAY.isoformat()
EVENING = f"{DAY} 17:00-19:00"
COURIER, STRANGER = "telegram:3003", "telegram:3004"  # of Vélo Test, of Autre Vélo
FARMER = "matrix:@anna:example.org"  # member of Ferme Test (the shop fixture)
ADA = DeliveryAddress(
    street="Rue de Carouge 50",
    postal_code="1205",
    locality="Genève",
    recipient_name="Ada Lovelace",
    details="3e étage, code 4521",
    phone="079 555 01 23",
    latitude=D("46.1983714"),
    longitude=D("6.1426721"),
)
OTHER = DeliveryAddress(
    street="Chemin des Secrets 7",
    postal_code="1206",
    locality="Genève",
    recipient_name="Zoé Autre",
    phone="+41 22 700 00 07",
)
# What of Ada's address must never reach a vendor or another company's courier, in any form.
ADA_PRIVATE = ("Carouge", "Lovelace", "4521", "555", "79 555", "46.19", "6.14")
OTHER_PRIVATE = ("Secrets", "Zoé", "700 00 07", "227000007")


@pytest.fixture
def companies(app: App) -> None:
    with app.db.uow() as uow:
        velo = add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        autre = add_organisation(uow, "autre-velo", "Autre Vélo", OrganisationKind.DELIVERY)
        add_member(uow, person_for_chat(uow, COURIER), velo)
        add_member(uow, person_for_chat(uow, STRANGER), autre)
        uow.commit()


def place(
    app: App,
    shop: dict[str, int],
    address: DeliveryAddress | None,
    *,
    slot: str = EVENING,
    company: str = "velo-test",
    postal_code: str = "1205",
) -> str:
    """An order of 2 kg of tomatoes delivered by `company` in `slot`, with `address` set as checkout sets it."""
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], D(2))
        code = address.postal_code if address else postal_code
        order = place_order(uow, app.settings, buyer, DeliveryChoice("delivery", code, slot, "on_delivery"))
        order.delivery_company = get_organisation(uow, company)
        if address is not None:
            set_order_delivery(order, address)
        uow.commit()
        return order.number


def say(commands: Commands, address: str, text: str) -> str:
    return "\n".join(m.text for m in commands.handle(Incoming(address, text, "fr")))


def clock_commands(app: App, clock: ManualClock) -> Commands:
    return Commands(app, today=lambda: RUN_DAY, now=lambda: clock_time(clock))


def clock_time(clock: ManualClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def no_private(text: str, private: tuple[str, ...] = ADA_PRIVATE) -> None:
    leaked = [word for word in private if word in text]
    assert not leaked, f"{leaked} in {text!r}"


# --- vendors ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("companies")
def test_a_vendor_sees_the_order_number_the_slot_and_the_first_name_only(app: App, shop: dict[str, int]) -> None:
    number = place(app, shop, ADA)
    with app.db.uow() as uow:
        [seen] = open_orders(uow, person(uow, shop["farmer"])).orders
    assert (seen.number, seen.slot, seen.recipient) == (number, EVENING, "Ada")
    no_private(repr(dataclasses.asdict(seen)))

    listing = say(Commands(app), FARMER, "/orders")
    assert f"• {number} (passée, paiement attendu) mer. 25 nov. 17:00-19:00 : 2 kg Tomates" in listing
    assert listing.endswith("· pour Ada")
    no_private(listing)

    # The new-order notice, rendered from the order as it stands once its address is set.
    with app.db.uow() as uow:
        uow.session.execute(delete(OutboxMessage))
        notifications.new_order(uow, get_order(uow, number))
        uow.commit()
    with app.db.uow() as uow:
        sent = {m.person_id: m.text for m in uow.session.scalars(select(OutboxMessage))}
    to_farmer = sent[shop["farmer"]]
    assert f"Nouvelle commande {number}" in to_farmer and "Livraison mer. 25 nov. 17:00-19:00, pour Ada" in to_farmer
    for text in sent.values():  # the courier's notice names the postal code, not the street
        no_private(text)


# --- couriers ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("companies")
def test_a_courier_of_another_company_gets_nothing_of_the_order(app: App, shop: dict[str, int]) -> None:
    number = place(app, shop, ADA)
    theirs = place(app, shop, OTHER, company="autre-velo")
    commands = Commands(app, today=lambda: RUN_DAY)
    stranger = say(commands, STRANGER, "/runs")
    assert theirs in stranger and "Chemin des Secrets 7" in stranger  # their own drop, in full
    assert number not in stranger
    no_private(stranger)
    assert say(commands, STRANGER, f"/delivered {number}") == f"Je ne trouve pas de commande « {number} » à votre nom."
    with app.db.uow() as uow:
        with pytest.raises(OrderNotFound):
            courier_drop(uow, person_for_chat(uow, STRANGER), number)
        run = courier_run(uow, person_for_chat(uow, STRANGER), RUN_DAY, app.settings.delivery)
        assert [stop.order for stop in run.stops] == [theirs, theirs]
        no_private(repr([dataclasses.asdict(stop) for stop in run.stops]))
    # ... and the other way round.
    own = say(commands, COURIER, "/runs")
    assert number in own and "Rue de Carouge 50" in own and theirs not in own
    no_private(own, OTHER_PRIVATE)


@pytest.mark.usefixtures("companies")
def test_the_own_courier_sees_the_address_until_delivered_plus_the_grace_period(app: App, shop: dict[str, int]) -> None:
    number = place(app, shop, ADA)
    clock = ManualClock(time.time())  # the status history is stamped with the real time
    commands = clock_commands(app, clock)
    before = say(commands, COURIER, "/runs")
    assert "📍 Rue de Carouge 50" in before and "tel:+41795550123" in before and "📝 3e étage, code 4521" in before
    assert say(commands, COURIER, f"/delivered {number} payé").startswith(f"Commande {number} livrée.")

    clock.advance(11 * 3600)  # within the 12 hours of [delivery] address_grace_hours
    assert app.settings.delivery.address_grace_hours == 12
    assert "📍 Rue de Carouge 50" in say(commands, COURIER, "/runs")
    with app.db.uow() as uow:
        seen = courier_drop(uow, person_for_chat(uow, COURIER), number, now=clock_time(clock))
        assert (seen.street, seen.phone_e164) == ("Rue de Carouge 50", "+41795550123")

    clock.advance(2 * 3600)  # 13 hours after the delivery: the postal code and locality only
    after = say(commands, COURIER, "/runs")
    assert f"✓ Livrer {number} au 1205 Genève (17:00-19:00) : 2 kg Tomates" in after
    no_private(after)
    with app.db.uow() as uow:
        seen = courier_drop(uow, person_for_chat(uow, COURIER), number, now=clock_time(clock))
        assert (seen.place, seen.shown, seen.tel, seen.map) == ("1205 Genève", False, "", "")
        no_private(repr(dataclasses.asdict(seen)))
        run = run_for(uow, get_organisation(uow, "velo-test"), RUN_DAY, now=clock_time(clock))
        no_private(repr([dataclasses.asdict(stop) for stop in run.stops]))


@pytest.mark.usefixtures("companies")
def test_a_cancelled_order_leaves_the_run_and_its_address_with_it(app: App, shop: dict[str, int]) -> None:
    number = place(app, shop, ADA)
    with app.db.uow() as uow:
        change_status(uow, None, number, OrderStatus.CANCELLED)
        uow.commit()
    commands = Commands(app, today=lambda: RUN_DAY)
    assert say(commands, COURIER, "/runs") == "Rien à livrer le 2026-11-25."
    with app.db.uow() as uow:
        seen = courier_drop(uow, person_for_chat(uow, COURIER), number)
        assert (seen.place, seen.shown) == ("1205 Genève", False)


@pytest.mark.usefixtures("companies")
def test_the_grace_period_is_the_deployments_setting(app: App, shop: dict[str, int]) -> None:
    number = place(app, shop, ADA)
    clock = ManualClock(time.time())
    short = dataclasses.replace(app.settings.delivery, address_grace_hours=1)
    commands = clock_commands(
        dataclasses.replace(app, settings=dataclasses.replace(app.settings, delivery=short)), clock
    )
    say(commands, COURIER, f"/delivered {number}")
    clock.advance(50 * 60)
    assert "Rue de Carouge 50" in say(commands, COURIER, "/runs")
    clock.advance(20 * 60)
    no_private(say(commands, COURIER, "/runs"))


@pytest.mark.usefixtures("companies")
def test_runs_show_one_block_per_drop_by_slot_postal_code_and_street_with_call_and_map_links(
    app: App, shop: dict[str, int]
) -> None:
    ada = place(app, shop, ADA)
    near = place(app, shop, DeliveryAddress("Rue de Carouge 8", "1205", "Genève", "Bob Martin"))
    early = place(app, shop, DeliveryAddress("Quai du Seujet 2", "1227", "Carouge"), slot=f"{DAY} 12:00-14:00")
    first_code = place(app, shop, DeliveryAddress("Rue du Marché 3", "1204", "Genève", phone="+41 (0)22 300 00 03"))
    old = place(app, shop, None)  # placed before addresses existed: its postal code only
    reply = say(clock_commands(app, ManualClock(time.time())), COURIER, "/runs")
    drops = [line for line in reply.splitlines() if line[:1].isdigit() and "Livrer" in line]
    assert [line.split()[2] for line in drops] == [early, first_code, old, near, ada]  # 8 before 50
    ada_map = "https://www.openstreetmap.org/?mlat=46.1983714&mlon=6.1426721#map=18/46.1983714/6.1426721"
    lines = reply.splitlines()
    at = lines.index(drops[-1])
    assert lines[at - 1 :] == [  # a blank line, then the drop's block, easy to read on a phone
        "",
        f"10. Livrer {ada} au 1205 Genève (17:00-19:00) : 2 kg Tomates",
        "   👤 Ada Lovelace",
        "   📍 Rue de Carouge 50",
        "   📝 3e étage, code 4521",
        "   📞 Appeler : tel:+41795550123",
        f"   🗺️ Plan : {ada_map}",
        f"   À encaisser : {format_chf(D('16.60'), 'fr')}",
        f"📍 Arrêt 10 ({ada}) : Rue de Carouge 50",  # then its map pin (the only drop with coordinates)
    ]
    search = "https://www.openstreetmap.org/search?query=Rue%20du%20March%C3%A9%203%2C%201204%20Gen%C3%A8ve"
    assert f"   🗺️ Plan : {search}" in reply and "   📞 Appeler : tel:+41223000003" in reply
    assert f"Livrer {old} au 1205 (17:00-19:00) : 2 kg Tomates\n   À encaisser" in reply


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+41 79 555 01 23", "+41795550123"),
        ("079 555 01 23", "+41795550123"),
        ("0041 79 555 01 23", "+41795550123"),
        ("+41 (0)22 300 00 03", "+41223000003"),
        ("022/300.00.03", "+41223000003"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("555 01 23", None),  # no area code: called as typed
        ("+0 12", None),
    ],
)
def test_phone_numbers_are_called_in_e164_where_possible(typed: str, e164: str | None) -> None:
    assert phone_e164(typed) == e164
    assert tel_uri(typed) == f"tel:{e164 or typed.replace(' ', '')}"


def test_a_map_link_marks_the_coordinates_or_searches_the_address() -> None:
    assert map_url("Rue de Carouge 50", "1205", "Genève", D("46.2000000"), D("6.1")) == (
        "https://www.openstreetmap.org/?mlat=46.2&mlon=6.1#map=18/46.2/6.1"
    )
    assert map_url("Rue de l'Ale 1 & 2", "1003", "", None, None) == (
        "https://www.openstreetmap.org/search?query=Rue%20de%20l%27Ale%201%20%26%202%2C%201003"
    )
    assert tel_uri("") == ""
