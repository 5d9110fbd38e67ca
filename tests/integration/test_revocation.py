"""Revocation is real (issue 11, section 3): a suspended (or pending) vendor or delivery company, or a suspended
person, can do nothing as that organisation — through the core, the chat commands or the Rasa actions — and
its link codes stop working; re-approving gives the rights back; a removed member loses them at once.

Every refusal is checked word for word in the person's language, and the whole database is compared before and
after: a refused attempt changes nothing (the core refuses before it writes, even if the caller commits).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from bootstrap import App
from bot.commands import Commands, Incoming
from checkout.models import Order
from checkout.runs import courier_company, mark_delivered, mark_picked_up, run_for
from checkout.services import DeliveryChoice, add_to_basket, change_status, place_order, vendor_orders
from checkout.status import OrderStatus
from dialogues.actions import ActionUpdatePrice, ActionUpdateStock, ActionVendorOrders
from marketplace.accounts import (
    ApprovalStatus,
    Membership,
    OrganisationKind,
    Person,
    Role,
    add_member,
    add_organisation,
    get_organisation,
    person_for_chat,
    remove_member,
    roles_of,
    set_organisation_status,
)
from marketplace.db import UnitOfWork
from marketplace.errors import (
    AccountSuspended,
    InvalidLinkCode,
    MarketplaceError,
    NotLinked,
    OrganisationPending,
    OrganisationSuspended,
)
from marketplace.linking import LinkCode, create_link_code, redeem_link_code, revoke_link_codes
from payments.services import open_payment
from tests.conftest import person
from tests.support.actions import FARMER, basket_of, run, served, tracker  # noqa: F401
from work.couriers import report_delivered
from work.vendors import (
    mark_ready,
    match_own_product,
    open_orders,
    own_products,
    set_availability,
    set_price,
    set_stock,
    vendor_of,
)

COURIER = "telegram:3003"  # a courier of velo-test
HOME = DeliveryChoice("delivery", "1205", "2026-11-25 17:00-19:00", "on_delivery")
HOME_DAY = date(2026, 11, 25)
SUSPENDED_FR = (
    "Le compte de {} est suspendu par la coopérative : pour le moment, vous ne pouvez rien faire en son nom "
    "(stock, prix, commandes, livraisons). Pour en savoir plus, contactez l'équipe du marché."
)
FARM_SUSPENDED = SUSPENDED_FR.format("Ferme Test")
COMPANY_SUSPENDED = SUSPENDED_FR.format("Vélo Test")
NOT_LINKED_FR = (
    "Ceci est réservé aux producteurs et commerçants membres. "
    "Si vous en êtes un, envoyez /link suivi du code reçu de l'équipe du marché."
)


# --- set-up and what the database holds -----------------------------------------------------------


def snapshot(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare a database before and after a refused attempt."""
    tables = MetaData()
    tables.reflect(app.db.engine)
    with app.db.engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(t))), key=repr) for name, t in tables.tables.items()}


@pytest.fixture
def work(app: App, shop: dict[str, int]) -> dict[str, Any]:
    """The `shop`, a delivery company with a courier, and one order (Tomates and Chasselas, delivered home and
    paid on delivery) that both vendors and the courier have work on."""
    with app.db.uow() as uow:
        company = add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        courier = person_for_chat(uow, COURIER)
        add_member(uow, courier, company)
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], Decimal(2))
        add_to_basket(uow, buyer, shop["wine"], Decimal(1))
        order = place_order(uow, app.settings, buyer, HOME)
        open_payment(uow, app.settings, order)
        uow.commit()
        return shop | {"courier": courier.id, "order": order.number}


def set_status(app: App, slug: str, status: ApprovalStatus) -> None:
    with app.db.uow() as uow:
        set_organisation_status(uow, slug, status)
        uow.commit()


def suspend_person(app: App, person_id: int) -> None:
    with app.db.uow() as uow:
        person(uow, person_id).status = ApprovalStatus.SUSPENDED
        uow.commit()


def attempt(app: App, person_id: int, operation: Callable[[UnitOfWork, Person], object]) -> MarketplaceError:
    """Run `operation` as the person and commit whatever happened: the refusal it raised."""
    with app.db.uow() as uow:
        try:
            operation(uow, person(uow, person_id))
        except MarketplaceError as error:
            uow.commit()  # nothing may have been written before the refusal
            return error
        pytest.fail("the operation was not refused")


def speaks(app: App, person_id: int, lang: str) -> None:
    """The person's conversation settled on `lang` (what the commands answer in)."""
    with app.db.uow() as uow:
        person(uow, person_id).language = lang
        uow.commit()


def say(commands: Commands, address: str, text: str) -> str:
    return "\n".join(m.text for m in commands.handle(Incoming(address, text)))


def is_open(app: App, number: str) -> bool:
    with app.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == number))
        return all(part.status == OrderStatus.PLACED for part in order.vendor_orders)


# --- the core ---------------------------------------------------------------------------------------


def vendor_operations(work: dict[str, Any]) -> dict[str, Callable[[UnitOfWork, Person], object]]:
    tomato, number = work["tomato"], work["order"]
    return {
        "vendor_of": lambda _uow, p: vendor_of(p),
        "set_stock": lambda uow, p: set_stock(uow, p, tomato, Decimal(0)),
        "set_price": lambda uow, p: set_price(uow, p, tomato, Decimal("0.10")),
        "set_availability": lambda uow, p: set_availability(uow, p, tomato, False),
        "match_own_product": lambda uow, p: match_own_product(uow, p, "tomates", "fr"),
        "own_products": lambda uow, p: own_products(uow, p, "fr"),
        "open_orders": lambda uow, p: open_orders(uow, p),
        "mark_ready": lambda uow, p: mark_ready(uow, p, number),
        "change_status": lambda uow, p: change_status(uow, p, number, OrderStatus.PREPARED, vendor_slug="ferme-test"),
        "vendor_orders": lambda uow, p: vendor_orders(uow, p, "ferme-test"),
    }


def courier_operations(work: dict[str, Any]) -> dict[str, Callable[[UnitOfWork, Person], object]]:
    number = work["order"]
    return {
        "courier_company": lambda _uow, p: courier_company(p),
        "run_for": lambda uow, p: run_for(uow, courier_company(p), HOME_DAY),
        "mark_picked_up": lambda uow, p: mark_picked_up(uow, p, number),
        "mark_delivered": lambda uow, p: mark_delivered(uow, p, number),
        "report_delivered_with_cash": lambda uow, p: report_delivered(uow, p, number, paid=True),
    }


def test_a_suspended_vendors_member_can_do_nothing_as_that_vendor(app: App, work: dict[str, Any]) -> None:
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    before = snapshot(app)
    for name, operation in vendor_operations(work).items():
        refusal = attempt(app, work["farmer"], operation)
        assert isinstance(refusal, OrganisationSuspended), name
        assert refusal.params == {"organisation": "Ferme Test"}, name
    assert snapshot(app) == before


def test_a_pending_vendors_member_can_do_nothing_yet(app: App, work: dict[str, Any]) -> None:
    set_status(app, "ferme-test", ApprovalStatus.PENDING)
    before = snapshot(app)
    for name, operation in vendor_operations(work).items():
        assert isinstance(attempt(app, work["farmer"], operation), OrganisationPending), name
    assert snapshot(app) == before


def test_a_suspended_person_acts_for_no_vendor(app: App, work: dict[str, Any]) -> None:
    suspend_person(app, work["farmer"])
    before = snapshot(app)
    for name, operation in vendor_operations(work).items():
        assert isinstance(attempt(app, work["farmer"], operation), AccountSuspended), name
    assert snapshot(app) == before
    with app.db.uow() as uow:
        assert roles_of(person(uow, work["farmer"])) == {Role.CONSUMER}


def test_a_suspended_delivery_companys_courier_cannot_deliver_nor_collect(app: App, work: dict[str, Any]) -> None:
    set_status(app, "velo-test", ApprovalStatus.SUSPENDED)
    before = snapshot(app)
    for name, operation in courier_operations(work).items():
        refusal = attempt(app, work["courier"], operation)
        assert isinstance(refusal, OrganisationSuspended), name
        assert refusal.params == {"organisation": "Vélo Test"}, name
    assert snapshot(app) == before
    assert is_open(app, work["order"])


def test_a_suspended_courier_cannot_deliver_for_an_approved_company(app: App, work: dict[str, Any]) -> None:
    suspend_person(app, work["courier"])
    before = snapshot(app)
    for name, operation in courier_operations(work).items():
        assert isinstance(attempt(app, work["courier"], operation), AccountSuspended), name
    assert snapshot(app) == before


def test_suspending_one_vendor_leaves_the_others_at_work(app: App, work: dict[str, Any]) -> None:
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    assert isinstance(attempt(app, work["farmer"], vendor_operations(work)["mark_ready"]), OrganisationSuspended)
    with app.db.uow() as uow:
        assert set_stock(uow, person(uow, work["cellar"]), work["wine"], Decimal(5)) == Decimal(5)
        assert mark_ready(uow, person(uow, work["cellar"]), work["order"]) == work["order"]
        uow.commit()


def test_re_approving_gives_the_rights_back(app: App, work: dict[str, Any]) -> None:
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    set_status(app, "velo-test", ApprovalStatus.SUSPENDED)
    assert isinstance(attempt(app, work["farmer"], vendor_operations(work)["set_stock"]), OrganisationSuspended)
    assert isinstance(attempt(app, work["courier"], courier_operations(work)["mark_delivered"]), OrganisationSuspended)
    set_status(app, "ferme-test", ApprovalStatus.APPROVED)
    set_status(app, "velo-test", ApprovalStatus.APPROVED)
    with app.db.uow() as uow:
        farmer = person(uow, work["farmer"])
        assert set_stock(uow, farmer, work["tomato"], Decimal(4)) == Decimal(4)
        assert mark_ready(uow, farmer, work["order"]) == work["order"]
        delivery = report_delivered(uow, person(uow, work["courier"]), work["order"], paid=True)
        uow.commit()
    assert delivery.collected == Decimal("31.10")
    with app.db.uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == work["order"]))
        assert {part.status for part in order.vendor_orders} == {OrderStatus.DELIVERED}


# --- link codes ---------------------------------------------------------------------------------------


def codes_of(app: App, slug: str) -> tuple[str, str]:
    with app.db.uow() as uow:
        first, _ = create_link_code(uow, slug)
        second, _ = create_link_code(uow, slug)
        uow.commit()
    return first, second


def redeem(app: App, address: str, code: str) -> Membership:
    with app.db.uow() as uow:
        membership = redeem_link_code(uow, person_for_chat(uow, address), code)
        uow.commit()
        return membership


@pytest.mark.usefixtures("work")
def test_suspending_revokes_the_codes_and_approving_does_not_bring_them_back(app: App) -> None:
    first, second = codes_of(app, "ferme-test")
    redeem(app, "telegram:6001", first)
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    with app.db.uow() as uow:
        assert revoke_link_codes(uow, get_organisation(uow, "ferme-test")) == 0  # the open one is already revoked
    set_status(app, "ferme-test", ApprovalStatus.APPROVED)
    before = snapshot(app)
    with pytest.raises(InvalidLinkCode):
        redeem(app, "telegram:6002", second)
    assert snapshot(app) == before


@pytest.mark.usefixtures("work")
def test_a_suspended_organisations_code_is_refused_even_if_it_was_not_revoked(app: App) -> None:
    """The status is checked at redeem time too: a code left open (status changed by another path) is refused."""
    code, _ = codes_of(app, "velo-test")
    with app.db.uow() as uow:
        get_organisation(uow, "velo-test").status = ApprovalStatus.SUSPENDED  # not through set_organisation_status
        uow.commit()
    before = snapshot(app)
    with pytest.raises(InvalidLinkCode):
        redeem(app, "telegram:6003", code)
    assert snapshot(app) == before
    set_status(app, "velo-test", ApprovalStatus.APPROVED)
    assert redeem(app, "telegram:6003", code).role == Role.COURIER  # never revoked: it works once approved


@pytest.mark.usefixtures("work")
def test_revoke_link_codes_counts_the_open_ones_only(app: App) -> None:
    first, second = codes_of(app, "ferme-test")
    codes_of(app, "cave-test")
    redeem(app, "telegram:6004", first)
    with app.db.uow() as uow:
        assert revoke_link_codes(uow, get_organisation(uow, "ferme-test")) == 1
        uow.commit()
    with pytest.raises(InvalidLinkCode):
        redeem(app, "telegram:6005", second)
    with app.db.uow() as uow:
        open_codes = select(LinkCode).where(LinkCode.used_at.is_(None))
        assert len(uow.session.scalars(open_codes).all()) == 3  # ferme-test's revoked one, cave-test's two
        assert revoke_link_codes(uow, get_organisation(uow, "cave-test")) == 2


@pytest.mark.usefixtures("work")
def test_a_pending_organisations_code_links_a_member_who_acts_once_it_is_approved(app: App) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "rucher", "Rucher", OrganisationKind.PRODUCER, pending=True)
        uow.commit()
    code, _ = codes_of(app, "rucher")
    membership_role = redeem(app, "telegram:6006", code).role
    assert membership_role == Role.VENDOR_MEMBER
    with app.db.uow() as uow, pytest.raises(OrganisationPending):
        vendor_of(person_for_chat(uow, "telegram:6006"))
    set_status(app, "rucher", ApprovalStatus.APPROVED)
    with app.db.uow() as uow:
        assert vendor_of(person_for_chat(uow, "telegram:6006")).slug == "rucher"


# --- removing a member -----------------------------------------------------------------------------


def test_a_removed_member_is_refused_from_the_next_message(app: App, work: dict[str, Any]) -> None:
    commands = Commands(app, today=lambda: HOME_DAY)
    assert say(commands, FARMER, "/stock tomates 8").startswith("Stock de « Tomates » : 8")
    with app.db.uow() as uow:
        removed = remove_member(uow, "ferme-test", FARMER)
        uow.commit()
    assert (removed.person_id, removed.role) == (work["farmer"], Role.VENDOR_MEMBER)
    before = snapshot(app)
    assert say(commands, FARMER, "/stock tomates 2") == NOT_LINKED_FR
    assert snapshot(app) == before
    with app.db.uow() as uow:
        assert person(uow, work["farmer"]).memberships == []
        with pytest.raises(NotLinked):
            vendor_of(person(uow, work["farmer"]))


# --- through the chat commands ---------------------------------------------------------------------


def test_every_vendor_command_of_a_suspended_vendors_member_is_refused(app: App, work: dict[str, Any]) -> None:
    commands = Commands(app, today=lambda: HOME_DAY)
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    before = snapshot(app)
    for text in ("/stock tomates 0", "/price tomates 0.10", "/unavailable tomates", "/available tomates",
                 "/products", "/orders", f"/ready {work['order']}"):  # fmt: skip
        assert say(commands, FARMER, text) == FARM_SUSPENDED, text
    assert snapshot(app) == before
    speaks(app, work["farmer"], "de")
    before = snapshot(app)
    assert say(commands, FARMER, "/stock tomates 0") == (
        "Das Konto von Ferme Test wurde von der Genossenschaft gesperrt: Bis auf Weiteres können Sie dafür weder "
        "Bestände noch Preise, Bestellungen oder Lieferungen bearbeiten. Um mehr zu erfahren, wenden Sie sich bitte "
        "an das Marktteam."
    )
    assert snapshot(app) == before
    assert commands.menu_for(FARMER) == ("de", ())  # no work commands offered while suspended
    assert commands.is_vendor(FARMER)  # `/orders` still reaches the vendor commands, to be told why


def test_every_courier_command_of_a_suspended_companys_courier_is_refused(app: App, work: dict[str, Any]) -> None:
    commands = Commands(app, today=lambda: HOME_DAY)
    set_status(app, "velo-test", ApprovalStatus.SUSPENDED)
    before = snapshot(app)
    number = work["order"]
    for text in ("/runs", f"/picked {number}", f"/delivered {number}", f"/delivered {number} payé"):
        assert say(commands, COURIER, text) == COMPANY_SUSPENDED, text
    assert snapshot(app) == before
    speaks(app, work["courier"], "en")
    before = snapshot(app)
    assert say(commands, COURIER, "/runs") == (
        "The account of Vélo Test has been suspended by the cooperative: for now you cannot do anything on its "
        "behalf (stock, prices, orders, deliveries). Please contact the marketplace team to find out more."
    )
    assert snapshot(app) == before
    assert commands.menu_for(COURIER) == ("en", ())


def test_a_suspended_persons_commands_are_refused(app: App, work: dict[str, Any]) -> None:
    commands = Commands(app, today=lambda: HOME_DAY)
    suspend_person(app, work["courier"])
    speaks(app, work["courier"], "it")
    before = snapshot(app)
    assert say(commands, COURIER, f"/delivered {work['order']} payé") == (
        "Il suo account è sospeso: non può agire per nessun produttore, negozio o servizio di consegna. "
        "Per saperne di più, contatti il team del mercato."
    )
    assert snapshot(app) == before


@pytest.mark.usefixtures("work")
def test_commands_work_again_once_the_vendor_is_approved(app: App) -> None:
    commands = Commands(app, today=lambda: HOME_DAY)
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    assert say(commands, FARMER, "/stock tomates 6") == FARM_SUSPENDED
    set_status(app, "ferme-test", ApprovalStatus.APPROVED)
    assert say(commands, FARMER, "/stock tomates 6") == "Stock de « Tomates » : 6 (kg)."
    assert "orders" in commands.menu_for(FARMER)[1]


# --- through the Rasa actions ----------------------------------------------------------------------


@pytest.mark.usefixtures("served", "work")
def test_a_suspended_vendors_member_is_refused_by_every_vendor_action(app: App) -> None:
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    before = snapshot(app)
    said = [
        (ActionUpdateStock(), tracker("j'ai encore 12 kg de tomates", "update_stock",
                                      {"product": "tomates", "quantity": "12"}, sender=FARMER)),
        (ActionUpdatePrice(), tracker("les tomates passent à 0.10", "update_price",
                                      {"product": "tomates", "amount": "0.10"}, sender=FARMER)),
        (ActionVendorOrders(), tracker("mes commandes", "vendor_orders", sender=FARMER)),
    ]  # fmt: skip
    for action, sentence in said:
        done = run(action, sentence)
        assert (done.text, done.buttons, done.events) == (FARM_SUSPENDED, [], []), action.name()
    assert snapshot(app) == before


@pytest.mark.usefixtures("served", "work")
def test_vendor_actions_work_again_once_the_vendor_is_approved(app: App) -> None:
    said = tracker("j'ai encore 12 kg de tomates", "update_stock", {"product": "tomates", "quantity": "12"},
                   sender=FARMER)  # fmt: skip
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    assert run(ActionUpdateStock(), said).text == FARM_SUSPENDED
    set_status(app, "ferme-test", ApprovalStatus.APPROVED)
    assert run(ActionUpdateStock(), said).text == "Stock de « Tomates » : 12 (kg)."


@pytest.mark.usefixtures("served", "work")
def test_a_suspended_vendors_member_still_shops_as_a_customer(app: App, shop: dict[str, int]) -> None:
    """Suspension takes the vendor's rights away, not the person's basket: a purchase read as a stock update is
    carried out as the purchase it is (« j'ai encore 12 kg de tomates » above stays refused)."""
    set_status(app, "ferme-test", ApprovalStatus.SUSPENDED)
    said = tracker("mets 2 chasselas dans mon panier", "update_stock", {"product": "chasselas", "quantity": "2"},
                   sender=FARMER)  # fmt: skip
    done = run(ActionUpdateStock(), said)
    assert done.text.splitlines()[0] == "C'est dans le panier : 2 × 75 cl Chasselas. Vous en avez 2 × 75 cl."
    assert basket_of(app, FARMER) == {shop["wine"]: Decimal(2)}
