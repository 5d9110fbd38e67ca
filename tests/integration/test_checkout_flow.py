"""The checkout flow: what the customer confirms is what the order charges, whatever the entry point."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bootstrap import App
from catalog.models import Product
from checkout.address_book import DeliveryAddress, InvalidAddress, list_addresses, order_delivery
from checkout.delivery import (
    DeliveryModeNotOffered,
    SlotNotOffered,
    add_pickup_point,
    add_slot,
    add_zone,
    available_slots,
    book_slot,
)
from checkout.flow import (
    CheckoutChanged,
    CheckoutNotConfirmed,
    CheckoutPreview,
    PaymentNotOffered,
    PaymentPart,
    PickupPlace,
    PickupPointNotOffered,
    PlacedCheckout,
    check_address,
    choose_payment,
    offered_slots,
    payment_options,
    place_checkout,
    preview_checkout,
)
from checkout.models import Basket, Order
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, add_to_basket, clear_basket, get_order
from dialogues.actions.checkout_steps import ActionAskOrderConfirmed, ActionSubmitOrder
from marketplace.accounts import OrganisationKind, add_organisation
from marketplace.errors import DeliveryNotAvailable, EmptyBasket, MarketplaceError, SlotFull
from payments.models import LegMethod
from payments.services import legs_of
from tests.conftest import make_product, person
from tests.support.actions import bot_uttered, chf, run, served, tracker  # noqa: F401
from tests.support.clock import ManualClock

D = Decimal
ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=ZURICH)  # a Monday morning
EVENING = "2026-11-24 17:00-19:00"  # Tuesday: a company slot (fee 6.00) or a configured window (fee 7.00)


@pytest.fixture
def courier_slots(app: App) -> None:
    """A delivery company serving 1200-1209 every evening for CHF 6.00, below the deployment's 7.00."""
    with app.db.uow() as uow:
        add_organisation(uow, "velo-test", "Vélo Test", OrganisationKind.DELIVERY)
        add_zone(uow, "velo-test", "1200-1209")
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            add_slot(uow, "velo-test", day, "17:00", "19:00", 20, D("6.00"), cutoff_hours=2)
        uow.commit()


def fill_basket(app: App, shop: dict[str, int]) -> None:
    """2 kg of tomatoes (9.60, half payable in Léman) and a bottle of wine (14.50, no Léman): 24.10."""
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], D(2))
        add_to_basket(uow, buyer, shop["wine"], D(1))
        uow.commit()


# --- the preview is the order ----------------------------------------------------------------

MODES = {  # delivery mode -> (choice, delivery fee)
    "delivery by a company slot": (DeliveryChoice("delivery", "1205", EVENING), D("6.00")),
    "delivery in a configured window": (DeliveryChoice("delivery", "1205", EVENING), D("7.00")),
    "pickup": (DeliveryChoice("pickup", "", EVENING), D("0.00")),
}
METHODS = {  # payment -> (method, Léman amount given, Léman paid); all in Léman: not for this basket (see below)
    "francs": (PaymentMethod.CHF, None, D("0.00")),
    "mixed, the most Léman": (PaymentMethod.MIXED, None, D("4.80")),
    "mixed, 3.00 Léman": (PaymentMethod.MIXED, D("3.00"), D("3.00")),
    "on delivery": (PaymentMethod.ON_DELIVERY, None, D("0.00")),
}


@pytest.mark.parametrize("money_flow", ["order", "vendor_order"])
@pytest.mark.parametrize("payment", list(METHODS))
@pytest.mark.parametrize("mode", list(MODES))
def test_the_placed_order_charges_exactly_the_preview(
    app: App,
    shop: dict[str, int],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    payment: str,
    money_flow: str,
) -> None:
    # Drawing QR-bills takes a second per order: the documents have tests of their own below.
    monkeypatch.setattr("checkout.flow.write_payment_documents", lambda *_args: ())
    if mode == "delivery by a company slot":
        request.getfixturevalue("courier_slots")
    assert app.settings.payments is not None
    payments = dataclasses.replace(app.settings.payments, money_flow=money_flow)
    settings = dataclasses.replace(app.settings, payments=payments)
    base_choice, fee = MODES[mode]
    method, given, leman = METHODS[payment]
    choice = dataclasses.replace(base_choice, payment_method=method)
    fill_basket(app, shop)
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        assert choose_payment(uow, buyer, method, given) is method
        preview = preview_checkout(uow, settings, buyer, "fr", choice, NOW)
        uow.commit()
    with app.db.uow() as uow:
        placed = place_checkout(
            uow, settings, person(uow, shop["consumer"]), "fr", choice, NOW, confirmed=preview.fingerprint
        )
        uow.commit()

    total = D("24.10") + fee
    assert (preview.total, preview.delivery_fee) == (placed.total, placed.delivery_fee) == (total, fee)
    assert (preview.chf, preview.leman) == (placed.chf, placed.leman) == (total - leman, leman)
    assert preview.parts == placed.parts
    assert placed.parts == expected_parts(method, total, leman, fee, money_flow)
    with app.db.uow() as uow:  # and the database holds what was shown
        order = get_order(uow, placed.number)
        assert (order.total, order.delivery_fee, order.payment_method) == (total, fee, method)
        legs = [(leg.method, leg.currency, leg.amount) for leg in legs_of(uow, order)]
        assert legs == [(p.method, p.currency, p.amount) for p in preview.parts]


def expected_parts(method: PaymentMethod, total: D, leman: D, fee: D, money_flow: str) -> tuple[PaymentPart, ...]:
    if method is PaymentMethod.ON_DELIVERY:
        return (PaymentPart(LegMethod.ON_DELIVERY, "CHF", total),)
    if money_flow == "order":
        parts = [PaymentPart(LegMethod.QR_BILL, "CHF", total - leman), PaymentPart(LegMethod.LEMAN, "LEM", leman)]
        return tuple(p for p in parts if p.amount)
    farm, cellar = ("ferme-test", "Ferme Test"), ("cave-test", "Cave Test")
    parts = [
        PaymentPart(LegMethod.QR_BILL, "CHF", D("9.60") - leman, *farm),
        PaymentPart(LegMethod.QR_BILL, "CHF", D("14.50"), *cellar),
        PaymentPart(LegMethod.QR_BILL, "CHF", fee),  # the delivery fee: for the whole order
        PaymentPart(LegMethod.LEMAN, "LEM", leman, *farm),  # the cellar takes no Léman
    ]
    return tuple(p for p in parts if p.amount)


@pytest.mark.usefixtures("courier_slots")
def test_a_company_slot_is_previewed_and_charged_at_its_own_fee_and_booked_once(
    app: App, shop: dict[str, int], tmp_path
) -> None:
    settings = dataclasses.replace(app.settings, data_dir=tmp_path)
    fill_basket(app, shop)
    choice = DeliveryChoice("delivery", "1205", EVENING, PaymentMethod.MIXED)
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        assert EVENING in offered_slots(uow, settings, "delivery", "1205", NOW)
        preview: CheckoutPreview = preview_checkout(uow, settings, buyer, "fr", choice, NOW)
        assert [o.remaining for o in available_slots(uow, "1205", NOW, 1)] == [20, 20]  # a preview books nothing
        placed: PlacedCheckout = place_checkout(uow, settings, buyer, "fr", choice, NOW, confirmed=preview.fingerprint)
        uow.commit()
        assert [o.remaining for o in available_slots(uow, "1205", NOW, 1)] == [20, 19]
    # « 26,30 CHF en francs » shown, 25.30 on the QR-bill: the bug of issue 9.
    assert preview.chf == placed.chf == D("25.30") and preview.basket.quote.delivery_fee == D("6.00")
    bill, leman_qr = placed.documents
    assert (bill.kind, bill.amount, bill.currency) == (LegMethod.QR_BILL, D("25.30"), "CHF")
    assert bill.image.read_bytes().startswith(b"\x89PNG") and bill.pdf.read_bytes().startswith(b"%PDF")
    assert bill.image.parent == tmp_path / "payments"
    assert (leman_qr.kind, leman_qr.amount, leman_qr.currency) == (LegMethod.LEMAN, D("4.80"), "LEM")
    assert leman_qr.image.read_bytes().startswith(b"\x89PNG") and leman_qr.image.name.startswith(placed.number)
    assert not (bill.vendor_name or bill.pays_delivery_fee)  # one payment for the whole order: no "for whom"


def test_paid_on_delivery_the_document_is_the_cash_to_have_ready(app: App, shop: dict[str, int], tmp_path) -> None:
    settings = dataclasses.replace(app.settings, data_dir=tmp_path)
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], D("1.13"))  # 5.42: the courier collects 5.40
        choice = DeliveryChoice("pickup", "", EVENING, PaymentMethod.ON_DELIVERY)
        shown = preview_checkout(uow, settings, buyer, "fr", choice, NOW)
        placed = place_checkout(uow, settings, buyer, "fr", choice, NOW, confirmed=shown.fingerprint)
        uow.commit()
    assert placed.total == D("5.42")
    assert [(d.kind, d.amount, d.image) for d in placed.documents] == [(LegMethod.ON_DELIVERY, D("5.40"), None)]
    assert not (tmp_path / "payments").exists() or not any((tmp_path / "payments").iterdir())


def test_where_payments_are_handled_outside_no_leg_is_opened_but_the_split_is_the_preview(
    app: App, shop: dict[str, int], tmp_path
) -> None:
    settings = dataclasses.replace(app.settings, payments=None, data_dir=tmp_path)
    fill_basket(app, shop)
    choice = DeliveryChoice("pickup", "", EVENING, PaymentMethod.MIXED)
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        preview = preview_checkout(uow, settings, buyer, "fr", choice, NOW)
        placed = place_checkout(uow, settings, buyer, "fr", choice, NOW, confirmed=preview.fingerprint)
        uow.commit()
        assert legs_of(uow, get_order(uow, placed.number)) == []
    assert preview.parts == placed.parts and (placed.chf, placed.leman) == (D("19.30"), D("4.80"))
    assert placed.documents == () and not (tmp_path / "payments").exists()


# --- the payment rules -----------------------------------------------------------------------


def test_all_in_leman_only_when_every_vendor_takes_it_all_and_nothing_is_delivered(
    app: App, shop: dict[str, int]
) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "rucher-test", "Rucher Test", OrganisationKind.PRODUCER, leman_share_pct=100)
        honey = make_product(uow, "rucher-test", "MIEL", "Miel", "12.00", category="honey")
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, honey, D(1))
        pickup = payment_options(uow, app.settings, buyer, DeliveryChoice("pickup", "", EVENING), NOW)
        delivered = payment_options(uow, app.settings, buyer, DeliveryChoice("delivery", "1205", EVENING), NOW)
        add_to_basket(uow, buyer, shop["tomato"], D(1))  # a vendor taking half in Léman
        mixed_basket = payment_options(uow, app.settings, buyer, DeliveryChoice("pickup", "", EVENING), NOW)
    assert (pickup.all_in_leman, pickup.total, pickup.leman_payable) == (True, D("12.00"), D("12.00"))
    assert (delivered.all_in_leman, delivered.total) == (False, D("19.00"))  # the fee is paid in francs
    assert (mixed_basket.all_in_leman, mixed_basket.leman_payable) == (False, D("14.40"))
    assert pickup.methods == tuple(PaymentMethod)


def test_an_amount_of_leman_makes_the_payment_mixed_and_only_counts_with_leman(app: App, shop: dict[str, int]) -> None:
    def wanted(uow) -> Decimal | None:  # type: ignore[no-untyped-def]
        return uow.session.scalar(select(Basket.leman_wanted).where(Basket.person_id == shop["consumer"]))

    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        assert choose_payment(uow, buyer, PaymentMethod.LEMAN, D("20.00")) is PaymentMethod.MIXED
        assert wanted(uow) == D("20.00")
        assert choose_payment(uow, buyer, PaymentMethod.CHF, D("20.00")) is PaymentMethod.CHF
        assert wanted(uow) is None
        assert choose_payment(uow, buyer, PaymentMethod.LEMAN) is PaymentMethod.LEMAN
        assert wanted(uow) is None


# --- placing re-checks everything chosen -----------------------------------------------------


def basket_and_orders(app: App, shop: dict[str, int]) -> tuple[dict[int, Decimal], int, Decimal]:
    """The consumer's basket lines, how many orders exist, the tomatoes' stock."""
    with app.db.uow() as uow:
        basket = uow.session.scalar(select(Basket).where(Basket.person_id == shop["consumer"]))
        lines = {line.product_id: line.quantity for line in basket.lines} if basket else {}
        return lines, len(uow.session.scalars(select(Order)).all()), uow.session.get(Product, shop["tomato"]).stock


def place(app: App, shop: dict[str, int], choice: DeliveryChoice, confirmed: str | None, now: datetime = NOW):
    with app.db.uow() as uow:
        placed = place_checkout(
            uow, app.settings, person(uow, shop["consumer"]), "fr", choice, now, confirmed=confirmed
        )
        uow.commit()
        return placed


def summary_of(app: App, shop: dict[str, int], choice: DeliveryChoice, now: datetime = NOW) -> str:
    """The fingerprint the summary of `choice` carries."""
    with app.db.uow() as uow:
        return preview_checkout(uow, app.settings, person(uow, shop["consumer"]), "fr", choice, now).fingerprint


PICKUP_EVENING = DeliveryChoice("pickup", "", EVENING, PaymentMethod.CHF)
REFUSED: dict[str, tuple[DeliveryChoice, type[MarketplaceError]]] = {
    "a pickup in 1999": (DeliveryChoice("pickup", "", "1999-01-01 03:00"), SlotNotOffered),
    "yesterday's window": (DeliveryChoice("pickup", "", "2026-11-22 17:00-19:00"), SlotNotOffered),
    "a window further ahead than offered": (DeliveryChoice("pickup", "", "2026-12-20 17:00-19:00"), SlotNotOffered),
    "a window not configured": (DeliveryChoice("pickup", "", "2026-11-24 03:00-04:00"), SlotNotOffered),
    "no slot at all": (DeliveryChoice("pickup", "", ""), SlotNotOffered),
    "an unknown slot string": (DeliveryChoice("pickup", "", "demain, promis"), SlotNotOffered),
    "a postal code outside the zones": (DeliveryChoice("delivery", "1260", EVENING), DeliveryNotAvailable),
    "a postal code that is none": (DeliveryChoice("delivery", "12050", EVENING), DeliveryNotAvailable),
    "an unknown delivery mode": (DeliveryChoice("drone", "1205", EVENING), DeliveryModeNotOffered),
    "all in Léman, the cellar taking none": (DeliveryChoice("pickup", "", EVENING, "leman"), PaymentNotOffered),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_choice_not_offered_is_neither_previewed_nor_placed(app: App, shop: dict[str, int], case: str) -> None:
    """Whatever the slots say (a payload sets them): the summary of a valid choice, then another choice."""
    choice, refusal = REFUSED[case]
    fill_basket(app, shop)
    confirmed = summary_of(app, shop, PICKUP_EVENING)
    before = basket_and_orders(app, shop)
    with app.db.uow() as uow, pytest.raises(refusal):
        preview_checkout(uow, app.settings, person(uow, shop["consumer"]), "fr", choice, NOW)
    with pytest.raises(refusal):
        place(app, shop, choice, confirmed)
    assert basket_and_orders(app, shop) == before == ({shop["tomato"]: 2, shop["wine"]: 1}, 0, D(10))


@pytest.mark.usefixtures("courier_slots")
def test_delivery_takes_only_the_companys_slots_and_pickup_only_the_configured_windows(
    app: App, shop: dict[str, int]
) -> None:
    with app.db.uow() as uow:
        small = add_slot(uow, "velo-test", "tue", "19:00", "21:00", 1, D("6.00"), cutoff_hours=2)
        book_slot(uow, small.id, date(2026, 11, 24))  # its one place is taken
        add_slot(uow, "velo-test", "tue", "20:00", "22:00", 5, D("6.00"), cutoff_hours=2)
        uow.commit()
    fill_basket(app, shop)
    confirmed = summary_of(app, shop, PICKUP_EVENING)
    refused = {
        DeliveryChoice("delivery", "1205", "2026-11-24 08:00-10:00"): SlotNotOffered,  # a pickup window
        DeliveryChoice("pickup", "", "2026-11-24 20:00-22:00"): SlotNotOffered,  # a company's slot
        DeliveryChoice("delivery", "1205", "2026-11-24 19:00-21:00"): SlotFull,  # offered, but full
        DeliveryChoice("delivery", "1215", EVENING): SlotNotOffered,  # served by the deployment, by no company
    }
    for choice, refusal in refused.items():
        with pytest.raises(refusal):
            place(app, shop, choice, confirmed)
    evening = DeliveryChoice("delivery", "1205", "2026-11-23 17:00-19:00")  # today, orders until 15:00
    with pytest.raises(SlotNotOffered):
        place(app, shop, evening, summary_of(app, shop, evening), now=NOW.replace(hour=16))
    assert basket_and_orders(app, shop) == ({shop["tomato"]: 2, shop["wine"]: 1}, 0, D(10))
    assert place(app, shop, evening, summary_of(app, shop, evening)).delivery_fee == D("6.00")  # at 08:00


def test_an_order_is_placed_only_as_the_summary_confirmed_showed_it(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    shown = summary_of(app, shop, PICKUP_EVENING)
    with pytest.raises(CheckoutNotConfirmed):  # no summary confirmed at all
        place(app, shop, PICKUP_EVENING, None)
    with app.db.uow() as uow:  # the farm raises its price between the summary and « Confirmer »
        uow.session.get(Product, shop["tomato"]).price_chf = D("5.30")
        uow.commit()
    with pytest.raises(CheckoutChanged):
        place(app, shop, PICKUP_EVENING, shown)
    with pytest.raises(CheckoutChanged):  # nor is a summary of another choice this one's
        place(
            app,
            shop,
            PICKUP_EVENING,
            summary_of(app, shop, dataclasses.replace(PICKUP_EVENING, payment_method="mixed")),
        )
    assert basket_and_orders(app, shop) == ({shop["tomato"]: 2, shop["wine"]: 1}, 0, D(10))
    placed = place(app, shop, PICKUP_EVENING, summary_of(app, shop, PICKUP_EVENING))  # the new summary, confirmed
    assert placed.total == D("25.10")  # 2 kg at 5.30 and the wine


def test_all_in_leman_is_placed_where_it_pays_everything(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        add_organisation(uow, "rucher-test", "Rucher Test", OrganisationKind.PRODUCER, leman_share_pct=100)
        honey = make_product(uow, "rucher-test", "MIEL", "Miel", "12.00", category="honey")
        add_to_basket(uow, person(uow, shop["consumer"]), honey, D(1))
        uow.commit()
    choice = DeliveryChoice("pickup", "", EVENING, PaymentMethod.LEMAN)
    placed = place(app, shop, choice, summary_of(app, shop, choice))
    assert (placed.total, placed.leman, placed.chf) == (D("12.00"), D("12.00"), D("0.00"))


def test_an_empty_basket_is_neither_previewed_nor_placed(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    shown = summary_of(app, shop, PICKUP_EVENING)
    with app.db.uow() as uow:  # emptied meanwhile (in another chat, say)
        clear_basket(uow, person(uow, shop["consumer"]))
        uow.commit()
    with pytest.raises(EmptyBasket):
        summary_of(app, shop, PICKUP_EVENING)
    with pytest.raises(EmptyBasket):
        place(app, shop, PICKUP_EVENING, shown)
    assert basket_and_orders(app, shop) == ({}, 0, D(10))


# --- through the chat ------------------------------------------------------------------------


@pytest.mark.usefixtures("courier_slots")
def test_the_chat_charges_the_total_and_francs_the_customer_confirmed(
    served: App,  # noqa: F811
    shop: dict[str, int],
) -> None:
    """The summary said the deployment's 7.00 fee while the order charged the company's 6.00 (issue 9)."""
    served.clock = ManualClock(NOW.timestamp())
    fill_basket(served, shop)
    with served.db.uow() as uow:
        slot = available_slots(uow, "1205", NOW, 6)[0].label
    slots = {"delivery_mode": "delivery", "postal_code": "1205", "time_slot": slot, "payment_method": "mixed"}

    shown = run(ActionAskOrderConfirmed(), tracker(slots=slots))
    summary = shown.text.splitlines()
    assert f"Livraison : {chf('6.00')}" in summary
    assert f"Total : {chf('30.10')} (jusqu'à {chf('4.80')} payables en Léman)" in summary
    assert f"Vous paierez {chf('25.30')} en francs et 4,80 Léman." in summary  # 30.10 - 4.80

    history = [bot_uttered(message) for message in shown.messages]
    placed = run(
        ActionSubmitOrder(), tracker("oui", "affirm", slots={**slots, "order_confirmed": True}, history=history)
    )
    with served.db.uow() as uow:
        number = uow.session.scalar(select(Order.number))
    assert placed.text.splitlines()[0] == f"Merci ! Votre commande {number} est enregistrée. Total : {chf('30.10')}."
    captions = [m["text"] for m in placed.messages if m.get("image")]
    assert len(captions) == 2
    assert captions[0].startswith(f"QR-facture : {chf('25.30')}, référence ")
    assert captions[1].startswith("Paiement en Léman : 4,80.")


# --- a home delivery's address and a pickup point (Step 8) ------------------------------------------------

HOME_EVENING = DeliveryChoice("delivery", "1205", EVENING, PaymentMethod.CHF)
CAROUGE = DeliveryAddress("Rue de Carouge 50", "1205", "Genève", recipient_name="Marie Dupont", phone="079 123 45 67")


def preview_to(
    app: App,
    shop: dict[str, int],
    choice: DeliveryChoice,
    address: DeliveryAddress | None = None,
    pickup_point: int | None = None,
) -> CheckoutPreview:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        return preview_checkout(uow, app.settings, buyer, "fr", choice, NOW, address, pickup_point)


def place_to(
    app: App, shop: dict[str, int], choice: DeliveryChoice, confirmed: str | None, address: DeliveryAddress | None
) -> PlacedCheckout:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        placed = place_checkout(uow, app.settings, buyer, "fr", choice, NOW, confirmed=confirmed, address=address)
        uow.commit()
        return placed


def test_the_order_keeps_the_address_it_was_confirmed_with_and_remembers_it(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    shown = preview_to(app, shop, HOME_EVENING, CAROUGE)
    assert shown.address == CAROUGE
    with pytest.raises(CheckoutChanged):  # a summary of the same order to another street is not this one's
        place_to(app, shop, HOME_EVENING, shown.fingerprint, dataclasses.replace(CAROUGE, street="Rue de Carouge 5"))
    with pytest.raises(CheckoutChanged):  # nor one without the phone
        place_to(app, shop, HOME_EVENING, preview_to(app, shop, HOME_EVENING).fingerprint, CAROUGE)
    placed = place_to(app, shop, HOME_EVENING, shown.fingerprint, CAROUGE)
    with app.db.uow() as uow:
        order = get_order(uow, placed.number)
        assert order_delivery(order) == CAROUGE
        assert [(a.label, a.street) for a in list_addresses(uow, person(uow, shop["consumer"]))] == [
            ("home", "Rue de Carouge 50")
        ]


ADDRESS_REFUSED = {
    "another postal code than the slot's": (dataclasses.replace(CAROUGE, postal_code="1204"), InvalidAddress),
    "a P.O. box": (dataclasses.replace(CAROUGE, street="Case postale 12"), InvalidAddress),
    "no street": (dataclasses.replace(CAROUGE, street=""), InvalidAddress),
    "a phone that is none": (dataclasses.replace(CAROUGE, phone="appelez-moi"), InvalidAddress),
}


@pytest.mark.parametrize("case", list(ADDRESS_REFUSED))
def test_an_address_is_checked_again_when_previewed_and_placed(app: App, shop: dict[str, int], case: str) -> None:
    address, refusal = ADDRESS_REFUSED[case]
    fill_basket(app, shop)
    with pytest.raises(refusal):
        preview_to(app, shop, HOME_EVENING, address)
    with pytest.raises(refusal):
        place_to(app, shop, HOME_EVENING, preview_to(app, shop, HOME_EVENING, CAROUGE).fingerprint, address)
    assert basket_and_orders(app, shop) == ({shop["tomato"]: 2, shop["wine"]: 1}, 0, D(10))


@pytest.mark.usefixtures("courier_slots", "shop")
def test_an_address_where_no_company_delivers_is_not_served(app: App) -> None:
    """1215 is in the deployment's zones, but no company delivers there: home delivery does not reach it."""
    with app.db.uow() as uow:
        choice = DeliveryChoice("delivery", "1215", EVENING)
        with pytest.raises(DeliveryNotAvailable):
            check_address(uow, app.settings, choice, dataclasses.replace(CAROUGE, postal_code="1215"))
        assert check_address(uow, app.settings, HOME_EVENING, CAROUGE) == CAROUGE
        assert check_address(uow, app.settings, PICKUP_EVENING, CAROUGE) is None  # pickup keeps no address


def test_a_pickup_point_is_in_the_summary_and_must_exist(app: App, shop: dict[str, int]) -> None:
    fill_basket(app, shop)
    with app.db.uow() as uow:
        point = add_pickup_point(uow, "ferme-test", "Marché de Plainpalais", "Plaine de Plainpalais", "8-13 h").id
        uow.commit()
    shown = preview_to(app, shop, PICKUP_EVENING, pickup_point=point)
    assert shown.pickup_point == PickupPlace(point, "Marché de Plainpalais", "Plaine de Plainpalais", "8-13 h")
    assert shown.fingerprint != preview_to(app, shop, PICKUP_EVENING).fingerprint
    with pytest.raises(PickupPointNotOffered):
        preview_to(app, shop, PICKUP_EVENING, pickup_point=point + 100)
