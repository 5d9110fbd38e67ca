"""The authorisation matrix: every vendor and courier command and every custom action that changes data (or shows
what belongs to someone), tried by each kind of person who has no right to it, and by the one who has.

Callers: an outsider (no account yet), a consumer, a member of another vendor, a member of a suspended vendor, a
courier of another delivery company, a courier of a suspended delivery company, an admin whose own account is
suspended — and the rightful person, whose row must succeed (so each refusal is a refusal of something that
works). A wrong person is answered with a sentence of ours in their own language that tells nothing of what they
may not see, and the database holds exactly what it held before (every table but the rows first contact creates:
see `tests/support/authz.py`).

Orders, baskets and codes are named the way people reach them: another person's order number typed or in a
button's payload, a database id, another vendor's SKU, a link code someone else redeemed.

The list of operations is checked against the code: a chat command in `bot.commands` or a custom action the
action server registers without a row here (or a reason to be exempt) fails `test_every_*`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rasa_sdk import Action
from sqlalchemy import select

from bootstrap import App
from bot.commands import DIRECT, SHARED, Commands, Incoming
from catalog.models import Product
from checkout.address_book import DeliveryAddress, list_addresses, save_address
from checkout.earnings import month_of
from checkout.flow import offered_slots
from checkout.services import DeliveryChoice, add_to_basket, get_order, place_order
from dialogues.actions import (
    ActionAskOrderConfirmed,
    ActionCancelOrder,
    ActionClearBasket,
    ActionDeleteAddress,
    ActionListAddresses,
    ActionNameAddress,
    ActionOrderStatus,
    ActionRemoveFromBasket,
    ActionReorder,
    ActionShowBasket,
    ActionSubmitOrder,
    ActionUpdatePrice,
    ActionUpdateStock,
    ActionVendorEarnings,
    ActionVendorNewProduct,
    ActionVendorOrders,
    ActionVendorTranslateProduct,
    ActionVendorWithdrawProduct,
)
from marketplace.accounts import (
    ApprovalStatus,
    ChatIdentity,
    OrganisationKind,
    add_member,
    add_organisation,
    person_for_chat,
    set_organisation_status,
)
from marketplace.applications import TERMS_VERSION, ApplicationDraft, VendorApplication, submit_application
from marketplace.clock import utcnow
from marketplace.linking import create_link_code, redeem_link_code
from payments.services import open_payment, payment_state
from tests.conftest import make_product
from tests.support.actions import CELLAR, CONSUMER, FARMER, basket_of, orders_of, run, served, tracker  # noqa: F401
from tests.support.authz import after_messages, changes, languages_of, served_actions, snapshot

OUTSIDER = "telegram:9009"  # has never written: no account
STRANGER = "telegram:4004"  # a consumer with an account, who owns no order
COURIER = "telegram:3003"  # courier of velo-test, which delivers the order
OTHER_COURIER = "telegram:3004"  # courier of autre-velo
NEWCOMER = "telegram:5005"  # someone given a link code
ADMIN = "telegram:8008"  # an admin of the cooperative whose account the cooperative suspended
ERASABLE = "telegram:6006"  # a consumer with nothing under way, who asks to be forgotten
COOP_ADMIN = "telegram:8118"  # an admin of the cooperative, with their rights
APPLICANT = "telegram:7117"  # a business whose application waits for a decision
APPLICATION = ApplicationDraft(
    kind="producer", trade_name="Ferme des Tilleuls", address="Chemin des Tilleuls 4, 1242 Satigny",
    iban="CH93 0076 2011 6238 5295 7", categories=("vegetables",), description="Légumes de saison à Satigny.",
    terms_version=TERMS_VERSION,
)  # fmt: skip


# --- the world every attempt is made in ---------------------------------------------------------------


@dataclass
class World:
    """The `shop` (ferme-test: Tomates TOM, Œufs EGG; cave-test: Chasselas CHA), a product off sale (Courges SQU),
    two delivery companies, and the consumer's order of 2 kg of Tomates from ferme-test, to be delivered by
    velo-test and paid on delivery; the consumer's basket holds 1 Chasselas. An admin's account is suspended."""

    app: App
    ids: dict[str, int]
    order: str  # the order's number
    order_id: int  # its database id
    slot: str  # a slot still offered, "2026-12-01 08:00-10:00"
    used_code: str  # a ferme-test link code someone else redeemed
    codes: dict[str, str] = field(default_factory=dict)  # a fresh link code per organisation slug
    application: int = 0  # the number of APPLICANT's pending application

    @property
    def day(self) -> date:
        return date.fromisoformat(self.slot.partition(" ")[0])

    def product(self, name: str) -> tuple[Decimal, Decimal, bool]:
        """(stock, price, available) as the database holds them."""
        with self.app.db.uow() as uow:
            row = uow.session.get(Product, self.ids[name])
            return row.stock, row.price_chf, row.available

    def parts(self) -> dict[str, str]:
        """The status of each vendor's part of the order."""
        with self.app.db.uow() as uow:
            return {p.vendor.slug: str(p.status) for p in get_order(uow, self.order).vendor_orders}

    def payment(self) -> str:
        with self.app.db.uow() as uow:
            return payment_state(uow, get_order(uow, self.order)).state

    def organisations_of(self, address: str) -> set[str]:
        with self.app.db.uow() as uow:
            return {m.organisation.slug for m in person_for_chat(uow, address).memberships}

    def names_known_to(self, address: str) -> set[str]:
        """The names of the organisations the person acts for (a suspended member may be told theirs is)."""
        with self.app.db.uow() as uow:
            return {m.organisation.name for m in person_for_chat(uow, address).memberships}


pytestmark = pytest.mark.usefixtures("served")  # the actions use the test's marketplace


@pytest.fixture
def world(app: App, shop: dict[str, int]) -> World:
    with app.db.uow() as uow:
        ids = shop | {"squash": make_product(uow, "ferme-test", "SQU", "Courges", "3.50", "8", unit="kg")}
        uow.session.get(Product, ids["squash"]).available = False
        ids["jam"] = make_product(uow, "ferme-test", "JAM", "Confiture", "7.50", "20", category="grocery")
        draft = uow.session.get(Product, ids["jam"])  # proposed by chat, not confirmed yet (work/products.py)
        draft.available, draft.source = False, "chat_draft"
        velo = add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)  # first: gets the orders
        other = add_organisation(uow, "autre-velo", "Autre Vélo", OrganisationKind.DELIVERY)
        add_member(uow, person_for_chat(uow, COURIER), velo)
        add_member(uow, person_for_chat(uow, OTHER_COURIER), other)
        person_for_chat(uow, STRANGER)
        admin = person_for_chat(uow, ADMIN)
        admin.is_admin, admin.status = True, ApprovalStatus.SUSPENDED
        used_code, _ = create_link_code(uow, "ferme-test")
        redeem_link_code(uow, person_for_chat(uow, FARMER), used_code)
        codes = {slug: create_link_code(uow, slug)[0] for slug in ("ferme-test", "velo-test")}
        slot = offered_slots(uow, app.settings, "delivery", "1205")[0]
        consumer = person_for_chat(uow, CONSUMER)
        save_address(uow, consumer, DeliveryAddress("Rue de Carouge 50", "1205", "Genève"), "home")
        add_to_basket(uow, consumer, ids["tomato"], Decimal(2))
        order = place_order(uow, app.settings, consumer, DeliveryChoice("delivery", "1205", slot, "on_delivery"))
        open_payment(uow, app.settings, order)
        add_to_basket(uow, consumer, ids["wine"], Decimal(1))
        person_for_chat(uow, COOP_ADMIN).is_admin = True
        next(m for m in person_for_chat(uow, FARMER).memberships if m.organisation.slug == "ferme-test").is_owner = True
        application = submit_application(uow, person_for_chat(uow, APPLICANT), APPLICATION, "fr").id
        uow.commit()
        return World(app, ids, order.number, order.id, slot, used_code, codes, application)


# --- who tries ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    name: str
    address: str  # empty for the rightful person, whom the operation names
    lang: str  # the language they write in (and that their account holds)
    suspended: str = ""  # the organisation suspended before they try


CALLERS = (
    Caller("outsider", OUTSIDER, "en"),
    Caller("consumer", STRANGER, "de"),
    Caller("other-vendor", CELLAR, "it"),
    Caller("suspended-vendor", FARMER, "en", suspended="ferme-test"),
    Caller("other-courier", OTHER_COURIER, "de"),
    Caller("suspended-courier", COURIER, "it", suspended="velo-test"),
    Caller("suspended-admin", ADMIN, "it"),  # not an organisation's: the person is suspended
)
RIGHTFUL = Caller("rightful", "", "fr")


@dataclass(frozen=True)
class Said:
    """What the bot answered: the text, and the payloads of its buttons (which can name things too)."""

    text: str
    payloads: tuple[str, ...] = ()

    @property
    def everything(self) -> str:
        return "\n".join((self.text, *self.payloads))


# --- what they try ---------------------------------------------------------------------------------------

Check = Callable[[World, Said], None]


@dataclass(frozen=True)
class Operation:
    id: str
    rightful: str  # the address of the person entitled to it
    attempt: Callable[[World, str, Caller], Said]  # (world, address, caller) -> the answer
    succeeded: Check  # asserts the rightful person's attempt did what it says
    secrets: Callable[[World], tuple[str, ...]]  # what a wrong person must not be told
    writes: bool = True  # False: it only shows something (the rightful row changes nothing either)
    command: str = ""  # the chat command it covers
    action: str = ""  # the custom action it covers
    newcomer_when_suspended: bool = False  # /link: a newcomer brings a suspended organisation's fresh code

    def address(self, caller: Caller) -> str:
        if caller.suspended and self.newcomer_when_suspended:
            return NEWCOMER
        return caller.address or self.rightful


def command(
    name: str,
    text: Callable[[World, Caller], str],
    rightful: str,
    succeeded: Check,
    secrets: Callable[[World], tuple[str, ...]],
    **options: bool,
) -> Operation:
    def attempt(world: World, address: str, caller: Caller) -> Said:
        commands = Commands(world.app, today=lambda: world.day)
        replies = commands.handle(Incoming(address, text(world, caller), caller.lang))
        return Said("\n".join(m.text for m in replies), tuple(b.payload for m in replies for b in m.buttons))

    return Operation(f"/{name}", rightful, attempt, succeeded, secrets, command=name, **options)


def action(
    label: str,
    acting: Action,
    intent: str,
    text: Callable[[World], str],
    entities: Callable[[World], dict[str, str]],
    rightful: str,
    succeeded: Check,
    secrets: Callable[[World], tuple[str, ...]],
    **options: bool,
) -> Operation:
    def attempt(world: World, address: str, caller: Caller) -> Said:
        said = tracker(text(world), intent, entities(world), sender=address, lang=caller.lang)
        done = run(acting, said)
        return Said(done.text, tuple(done.payloads))

    name = acting.name()
    return Operation(f"{name}:{label}", rightful, attempt, succeeded, secrets, action=name, **options)


def _same(text: str) -> Callable[[World, Caller], str]:
    return lambda _world, _caller: text


def _link_text(world: World, caller: Caller) -> str:
    """A suspended organisation's fresh code for the suspended rows and the rightful newcomer's; a code someone
    else already redeemed for everyone else."""
    if caller.suspended:
        return f"/link {world.codes[caller.suspended]}"
    return f"/link {world.codes['ferme-test']}" if caller is RIGHTFUL else f"/link {world.used_code}"


def _order_secrets(world: World) -> tuple[str, ...]:
    return (world.order, "Tomates", "Ferme Test")


def _status_secrets(_world: World) -> tuple[str, ...]:
    """An order named by its number: the number is the caller's own words, what the order holds is not."""
    return ("Tomates", "Ferme Test", "cancel_order")


def _product_secrets(_world: World) -> tuple[str, ...]:
    return ("Tomates", "Courges")


def _basket_secrets(_world: World) -> tuple[str, ...]:
    return ("Chasselas",)


# The rightful outcomes, each read back from the database.


def stock_is_3(world: World, _said: Said) -> None:
    assert world.product("tomato")[0] == Decimal(3)


def price_is_50_centimes(world: World, _said: Said) -> None:
    assert world.product("tomato")[1] == Decimal("0.50")


def squash_on_sale(world: World, _said: Said) -> None:
    assert world.product("squash")[2] is True


def tomatoes_off_sale(world: World, _said: Said) -> None:
    assert world.product("tomato")[2] is False


def jam_on_sale(world: World, _said: Said) -> None:
    assert world.product("jam")[2] is True


def tomatoes_named_in_italian(world: World, _said: Said) -> None:
    with world.app.db.uow() as uow:
        assert uow.session.get(Product, world.ids["tomato"]).names == {"fr": "Tomates", "it": "Pomodori"}


def _jam_secrets(_world: World) -> tuple[str, ...]:
    return ("Confiture", "JAM")


def own_products_listed(_world: World, said: Said) -> None:
    assert "Tomates" in said.text and "Courges" in said.text


def order_listed(world: World, said: Said) -> None:
    assert world.order in said.text


def order_prepared(world: World, _said: Said) -> None:
    assert world.parts() == {"ferme-test": "prepared"}


def order_picked(world: World, _said: Said) -> None:
    assert world.parts() == {"ferme-test": "out_for_delivery"}


def order_delivered_and_paid(world: World, _said: Said) -> None:
    assert (world.parts(), world.payment()) == ({"ferme-test": "delivered"}, "paid")


def newcomer_linked(world: World, _said: Said) -> None:
    assert world.organisations_of(NEWCOMER) == {"ferme-test"}


def order_status_shown(world: World, said: Said) -> None:
    assert world.order in said.text and "Ferme Test" in said.text


def order_cancelled(world: World, _said: Said) -> None:
    assert world.parts() == {"ferme-test": "cancelled"}
    assert world.product("tomato")[0] == Decimal(10)  # the stock is back


def reordered(world: World, _said: Said) -> None:
    assert basket_of(world.app, CONSUMER) == {world.ids["wine"]: Decimal(1), world.ids["tomato"]: Decimal(2)}


def wine_removed(world: World, _said: Said) -> None:
    assert basket_of(world.app, CONSUMER) == {}


def basket_shown(_world: World, said: Said) -> None:
    assert "Chasselas" in said.text


def basket_ordered(world: World, _said: Said) -> None:
    orders = orders_of(world.app, CONSUMER)
    assert len(orders) == 2 and orders[-1]["lines"] == [(world.ids["wine"], Decimal(1))]
    assert basket_of(world.app, CONSUMER) == {}


def _address_id(world: World) -> str:
    """The id of the consumer's saved address (« home »)."""
    with world.app.db.uow() as uow:
        return str(list_addresses(uow, person_for_chat(uow, CONSUMER))[0].id)


def _address_secrets(_world: World) -> tuple[str, ...]:
    return ("Rue de Carouge",)


def address_listed(_world: World, said: Said) -> None:
    assert "Rue de Carouge 50, 1205 Genève" in said.text


def address_deleted(world: World, _said: Said) -> None:
    with world.app.db.uow() as uow:
        assert list_addresses(uow, person_for_chat(uow, CONSUMER)) == []


def address_named(world: World, _said: Said) -> None:
    with world.app.db.uow() as uow:
        assert [a.label for a in list_addresses(uow, person_for_chat(uow, CONSUMER))] == ["work"]


def application_status(status: str) -> Check:
    def check(world: World, _said: Said) -> None:
        with world.app.db.uow() as uow:
            assert uow.session.get(VendorApplication, world.application).status == status

    return check


def _application_secrets(_world: World) -> tuple[str, ...]:
    return ("Ferme des Tilleuls", "Satigny", "CH93")


def invited(_world: World, said: Said) -> None:
    assert "/link " in said.text and "Ferme Test" in said.text


def team_listed(_world: World, said: Said) -> None:
    assert said.text.startswith("Équipe de Ferme Test")


def named(world: World, _said: Said) -> None:
    with world.app.db.uow() as uow:
        assert person_for_chat(uow, CONSUMER).display_name == "Ana Lopes"


def _number(world: World) -> dict[str, str]:
    return {"order_id": world.order}


def my_data(world: World, address: str, caller: Caller) -> Said:
    """/mydata: the caption, and the file's content among what the caller was given."""
    [sent] = Commands(world.app).handle(Incoming(address, "/mydata", caller.lang))
    return Said(sent.text, (Path(sent.document).read_text("utf-8"),))


def consumers_data_sent(world: World, said: Said) -> None:
    assert world.order in said.everything and "Rue de Carouge 50" in said.everything


def _data_secrets(world: World) -> tuple[str, ...]:
    return (world.order, "Rue de Carouge", "Chasselas")


def answer_the_erasure_question(world: World, address: str, caller: Caller) -> Said:
    """The person to erase is asked /forget's question; the caller answers it with its button (for the wrong
    people: someone else's button, with its one-time code, pressed in their own conversation)."""
    commands = Commands(world.app)
    [question] = commands.handle(Incoming(ERASABLE, "/forget", "fr"))
    yes = question.buttons[0].payload
    replies = commands.handle(Incoming(address, yes, caller.lang))
    return Said("\n".join(m.text for m in replies), tuple(b.payload for m in replies for b in m.buttons))


def erasable_erased(world: World, said: Said) -> None:
    with world.app.db.uow() as uow:
        assert uow.session.scalar(select(ChatIdentity).where(ChatIdentity.external_id == "6006")) is None
    assert said.text.startswith("C'est fait : votre compte est effacé.")


def confirm_the_owners_summary(world: World, address: str, caller: Caller) -> Said:
    """The consumer is shown the summary of their checkout; the caller answers it with « yes » (for the wrong
    people: someone else's summary, replayed in their own conversation)."""
    slots = _checkout_slots(world)
    summary = run(ActionAskOrderConfirmed(), tracker("/choose_payment", "choose_payment", slots=slots))
    assert summary.buttons and not summary.events, summary.text  # a summary to confirm, in the owner's chat
    answer = tracker("/affirm", "affirm", sender=address, lang=caller.lang, slots=slots)
    done = run(ActionSubmitOrder(), after_messages(answer, summary.messages))
    return Said(done.text, tuple(done.payloads))


def _checkout_slots(world: World) -> dict[str, object]:
    slots = {"delivery_mode": "pickup", "time_slot": world.slot, "payment_method": "on_delivery"}
    return slots | {"order_confirmed": True}


OPERATIONS: tuple[Operation, ...] = (
    # --- chat commands (bot/commands.py) ---
    command("link", _link_text, NEWCOMER, newcomer_linked, lambda _: ("Ferme Test", "Vélo Test"),
            newcomer_when_suspended=True),
    command("stock", _same("/stock TOM 3"), FARMER, stock_is_3, _product_secrets),
    command("price", _same("/price TOM 0.50"), FARMER, price_is_50_centimes, _product_secrets),
    command("available", _same("/available SQU"), FARMER, squash_on_sale, _product_secrets),
    command("unavailable", _same("/unavailable TOM"), FARMER, tomatoes_off_sale, _product_secrets),
    command("products", _same("/products"), FARMER, own_products_listed, _product_secrets, writes=False),
    command("orders", _same("/orders"), FARMER, order_listed, _order_secrets, writes=False),
    command("ready", lambda w, _: f"/ready {w.order}", FARMER, order_prepared, _status_secrets),
    command("runs", _same("/runs"), COURIER, order_listed, _order_secrets, writes=False),
    command("picked", lambda w, _: f"/picked {w.order}", COURIER, order_picked, _status_secrets),
    command("delivered", lambda w, _: f"/delivered {w.order} payé", COURIER, order_delivered_and_paid,
            _status_secrets),
    # Everyone's data rights (bot/commands.py): one's own data only, one's own erasure only. An account with
    # nothing but first-contact rows: its erasure changes nothing `snapshot` reads (writes=False).
    Operation("/mydata", CONSUMER, my_data, consumers_data_sent, _data_secrets, writes=False, command="mydata"),
    Operation("/forget", ERASABLE, answer_the_erasure_question, erasable_erased, _data_secrets, writes=False,
              command="forget"),
    # Businesses joining (bot/team_commands.py): an application decided by an admin with rights only (the
    # buttons' payloads, pressed or forged); an organisation's team managed by its owner only.
    command("approve", lambda w, _: f"/approve {w.application}", COOP_ADMIN, application_status("approved"),
            _application_secrets),
    command("refuse", lambda w, _: f"/refuse {w.application} UID introuvable", COOP_ADMIN,
            application_status("refused"), _application_secrets),
    command("invite", _same("/invite"), FARMER, invited, lambda _: ("/link ",)),
    command("members", _same("/members"), FARMER, team_listed, lambda _: ("Équipe", "#"), writes=False),
    # One's own name only: the others can but ask for theirs (no id names anyone else's). It lives in `people`,
    # which `snapshot` leaves out (first contact writes it): `named` reads it back (writes=False).
    command("name", lambda _, caller: "/name Ana Lopes" if caller is RIGHTFUL else "/name", CONSUMER, named,
            lambda _: ("Ana Lopes",), writes=False),
    # --- vendor sentences and their buttons (dialogues/actions/vendor.py) ---
    action("sentence", ActionUpdateStock(), "update_stock", lambda _: "il me reste 3 kg de tomates",
           lambda _: {"product": "tomates", "quantity": "3"}, FARMER, stock_is_3, _product_secrets),
    action("button", ActionUpdateStock(), "update_stock", lambda _: '/update_stock{"product": "TOM", "quantity": "3"}',
           lambda _: {"product": "TOM", "quantity": "3"}, FARMER, stock_is_3, _product_secrets),
    action("sentence", ActionUpdatePrice(), "update_price", lambda _: "les tomates passent à 0.50",
           lambda _: {"product": "tomates", "amount": "0.50"}, FARMER, price_is_50_centimes, _product_secrets),
    action("button", ActionUpdatePrice(), "update_price", lambda _: '/update_price{"product": "TOM", "amount": "0.50"}',
           lambda _: {"product": "TOM", "amount": "0.50"}, FARMER, price_is_50_centimes, _product_secrets),
    action("sentence", ActionVendorOrders(), "vendor_orders", lambda _: "mes commandes à préparer", lambda _: {},
           FARMER, order_listed, _order_secrets, writes=False),
    # --- products by chat and earnings (dialogues/actions/vendor_products.py, Step 11) ---
    command("earnings", lambda _w, _c: f"/earnings {month_of(utcnow(), 'Europe/Zurich'):%Y-%m}", FARMER,
            order_listed, _order_secrets, writes=False),  # the month the order was placed in
    # A sentence proposing a product makes one for the speaker's own vendor (nobody else's to try); its refusals
    # (consumer, pending vendor) are in test_vendor_products.py. Confirming names a product: someone else's here.
    action("button", ActionVendorNewProduct(), "vendor_new_product",
           lambda w: f'/vendor_new_product{{"choice": "confirm", "product": "#{w.ids["jam"]}"}}',
           lambda w: {"choice": "confirm", "product": f"#{w.ids['jam']}"}, FARMER, jam_on_sale, _jam_secrets),
    action("sentence", ActionVendorWithdrawProduct(), "vendor_withdraw_product",
           lambda _: "retire les tomates de la vente", lambda _: {}, FARMER, tomatoes_off_sale, _product_secrets),
    action("sentence", ActionVendorTranslateProduct(), "vendor_translate_product",
           lambda _: "les tomates en italien : Pomodori", lambda _: {}, FARMER, tomatoes_named_in_italian,
           _product_secrets),
    action("sentence", ActionVendorEarnings(), "vendor_earnings", lambda _: "combien j'ai gagné ce mois",
           lambda _: {}, FARMER, order_listed, _order_secrets, writes=False),
    # --- a consumer's orders and basket (dialogues/actions/orders.py, shopping.py, checkout_steps.py) ---
    action("by-number", ActionOrderStatus(), "order_status", lambda w: f"où en est la commande {w.order} ?", _number,
           CONSUMER, order_status_shown, _status_secrets, writes=False),
    action("by-database-id", ActionOrderStatus(), "order_status",
           lambda w: f'/order_status{{"order_id": "#{w.order_id}"}}', lambda w: {"order_id": f"#{w.order_id}"},
           CONSUMER, order_status_shown, _order_secrets, writes=False),
    action("typed", ActionCancelOrder(), "cancel_order", lambda w: f"annule la commande {w.order}", _number,
           CONSUMER, order_cancelled, _status_secrets),
    action("button", ActionCancelOrder(), "cancel_order", lambda w: f'/cancel_order{{"order_id": "{w.order}"}}',
           _number, CONSUMER, order_cancelled, _status_secrets),
    action("button", ActionReorder(), "reorder", lambda w: f'/reorder{{"order_id": "{w.order}"}}', _number,
           CONSUMER, reordered, _order_secrets),
    action("button", ActionRemoveFromBasket(), "remove_from_basket",
           lambda w: f'/remove_from_basket{{"product": "#{w.ids["wine"]}"}}',
           lambda w: {"product": f"#{w.ids['wine']}"}, CONSUMER, wine_removed, _basket_secrets),
    action("button", ActionClearBasket(), "clear_basket", lambda _: "/clear_basket", lambda _: {},
           CONSUMER, wine_removed, _basket_secrets),
    action("button", ActionShowBasket(), "show_basket", lambda _: "/show_basket", lambda _: {},
           CONSUMER, basket_shown, _basket_secrets, writes=False),
    Operation("action_submit_order:confirmed", CONSUMER, confirm_the_owners_summary, basket_ordered,
              _basket_secrets, action="action_submit_order"),
    # --- a consumer's saved addresses (dialogues/actions/addresses.py) ---
    action("typed", ActionListAddresses(), "list_addresses", lambda _: "mes adresses", lambda _: {}, CONSUMER,
           address_listed, _address_secrets, writes=False),
    action("button", ActionDeleteAddress(), "delete_address",
           lambda w: f'/delete_address{{"address_id": "{_address_id(w)}"}}', lambda w: {"address_id": _address_id(w)},
           CONSUMER, address_deleted, _address_secrets),
    action("button", ActionNameAddress(), "name_address",
           lambda w: f'/name_address{{"address_id": "{_address_id(w)}", "address_label": "work"}}',
           lambda w: {"address_id": _address_id(w), "address_label": "work"}, CONSUMER, address_named,
           _address_secrets),
)  # fmt: skip

# Served actions that need no row, and why: none acts on or shows anything but public goods and the caller's own
# basket, form and language (which belong to whoever writes, so there is nobody else to try them as).
EXEMPT = {
    "action_search_products": "searches the public catalog",
    "action_product_details": "shows one product of the public catalog",
    "action_add_to_basket": "adds public goods to the caller's own basket, which no id names",
    "action_small_talk": "answers; a plain basket request in it fills the caller's own basket",
    "action_fallback": "answers; a plain basket request in it fills the caller's own basket",
    "action_change_language": "changes the caller's own language",
    "action_interrupt_checkout": "answers with one of dialogues.actions.HANDLERS, each covered or exempt here",
    "action_ask_delivery_mode": "asks a question of the caller's own checkout form",
    "action_ask_delivery_address": "asks a question of the caller's own form, offering the caller's own addresses",
    "action_ask_recipient_name": "asks a question of the caller's own checkout form",
    "action_ask_delivery_phone": "asks a question of the caller's own checkout form",
    "action_ask_pickup_point": "lists the public pickup points",
    "action_shared_outside_checkout": "answers; keeps nothing of what was shared",
    "action_ask_time_slot": "offers the delivery companies' public slots",
    "action_ask_payment_method": "prices the caller's own basket",
    "action_ask_order_confirmed": "summarises the caller's own basket and form",
    "validate_checkout_form": "reads the caller's own answers into the caller's own form",
    "action_request_my_data": "asks the bot to run /mydata for the caller (its row above)",
    "action_forget_me": "asks the bot to run /forget for the caller (its row above)",
    # A business's application (dialogues/actions/registration.py): the caller's own form, then their own
    # application, which only /approve and /refuse (rows above) decide on.
    "validate_registration_form": "reads the caller's own answers into the caller's own form",
    "action_ask_business_kind": "asks a question of the caller's own registration form",
    "action_ask_trade_name": "asks a question of the caller's own registration form",
    "action_ask_business_uid": "asks a question of the caller's own registration form",
    "action_ask_business_address": "asks a question of the caller's own registration form",
    "action_ask_business_iban": "asks a question of the caller's own registration form",
    "action_ask_leman_share": "asks a question of the caller's own registration form",
    "action_ask_business_categories": "lists the public categories",
    "action_ask_business_description": "asks a question of the caller's own registration form",
    "action_ask_terms_accepted": "summarises the caller's own registration form",
    "action_submit_registration": "files the caller's own application, pending until an admin decides",
    "action_interrupt_registration": "answers with one of dialogues.actions.HANDLERS, each covered or exempt here",
    "action_set_name": "changes the caller's own name (as the /name row)",
}


# --- the matrix ---------------------------------------------------------------------------------------------


def _prepare(world: World, caller: Caller, address: str) -> None:
    """Suspend the caller's organisation if that is the case tried, and give an account the caller's language."""
    with world.app.db.uow() as uow:
        if caller.suspended:
            set_organisation_status(uow, caller.suspended, ApprovalStatus.SUSPENDED)
        if address not in (OUTSIDER, NEWCOMER):
            person_for_chat(uow, address).language = caller.lang
        uow.commit()


CASES = [
    pytest.param(operation, caller, id=f"{operation.id}-{caller.name}")
    for operation in OPERATIONS
    for caller in (*CALLERS, RIGHTFUL)
]


@pytest.mark.parametrize(("operation", "caller"), CASES)
def test_authorization_matrix(world: World, operation: Operation, caller: Caller) -> None:
    address = operation.address(caller)
    _prepare(world, caller, address)
    before = snapshot(world.app.db)
    said = operation.attempt(world, address, caller)
    changed = changes(before, snapshot(world.app.db))
    if caller is RIGHTFUL:  # the control row: what the others are refused works
        operation.succeeded(world, said)
        assert bool(changed) == operation.writes, changed
        return
    assert changed == {}, f"{caller.name} changed the database: {changed}"
    own = world.names_known_to(address)
    told = [secret for secret in operation.secrets(world) if secret in said.everything and secret not in own]
    assert told == [], f"{caller.name} was told {told}: {said.text!r}"
    assert caller.lang in languages_of(said.text), f"not a sentence of ours in {caller.lang!r}: {said.text!r}"


# --- the matrix covers what the code offers -------------------------------------------------------------------


def test_every_chat_command_has_a_row() -> None:
    assert {op.command for op in OPERATIONS if op.command} == DIRECT | SHARED


def test_every_served_action_has_a_row_or_a_reason() -> None:
    tried = {op.action for op in OPERATIONS if op.action}
    actions = served_actions()
    assert actions - tried - EXEMPT.keys() == set(), "new actions: add rows to OPERATIONS (or a reason to EXEMPT)"
    assert (tried | EXEMPT.keys()) - actions == set(), "no longer served: remove from OPERATIONS or EXEMPT"
    assert tried & EXEMPT.keys() == set()
