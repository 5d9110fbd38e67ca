"""The checkout flow: what the customer confirms is what the order charges, whatever the entry point."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bootstrap import App
from checkout.delivery import add_slot, add_zone, available_slots
from checkout.flow import (
    CheckoutPreview,
    PaymentPart,
    PlacedCheckout,
    choose_payment,
    offered_slots,
    payment_options,
    place_checkout,
    preview_checkout,
)
from checkout.models import Basket, Order
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, add_to_basket, get_order
from dialogues.actions.checkout_steps import ActionAskOrderConfirmed, ActionSubmitOrder
from marketplace.accounts import OrganisationKind, add_organisation
from payments.models import LegMethod
from payments.services import legs_of
from tests.conftest import make_product, person
from tests.support.actions import chf, run, served, tracker  # noqa: F401

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
METHODS = {  # payment -> (method, Léman amount given, Léman paid)
    "francs": (PaymentMethod.CHF, None, D("0.00")),
    "all the Léman accepted": (PaymentMethod.LEMAN, None, D("4.80")),
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
        placed = place_checkout(uow, settings, person(uow, shop["consumer"]), "fr", choice, NOW)
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
        placed: PlacedCheckout = place_checkout(uow, settings, buyer, "fr", choice, NOW)
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
        placed = place_checkout(uow, settings, buyer, "fr", choice, NOW)
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
        placed = place_checkout(uow, settings, buyer, "fr", choice, NOW)
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


# --- through the chat ------------------------------------------------------------------------


@pytest.mark.usefixtures("courier_slots")
def test_the_chat_charges_the_total_and_francs_the_customer_confirmed(
    served: App,  # noqa: F811
    shop: dict[str, int],
) -> None:
    """The summary said the deployment's 7.00 fee while the order charged the company's 6.00 (issue 9)."""
    fill_basket(served, shop)
    with served.db.uow() as uow:
        slot = available_slots(uow, "1205", datetime.now(ZURICH), 6)[0].label
    slots = {"delivery_mode": "delivery", "postal_code": "1205", "time_slot": slot, "payment_method": "mixed"}

    summary = run(ActionAskOrderConfirmed(), tracker(slots=slots)).text.splitlines()
    assert f"Livraison : {chf('6.00')}" in summary
    assert f"Total : {chf('30.10')} (jusqu'à {chf('4.80')} payables en Léman)" in summary
    assert f"Vous paierez {chf('25.30')} en francs et 4,80 Léman." in summary  # 30.10 - 4.80

    placed = run(ActionSubmitOrder(), tracker("oui", "affirm", slots={**slots, "order_confirmed": True}))
    with served.db.uow() as uow:
        number = uow.session.scalar(select(Order.number))
    assert placed.text.splitlines()[0] == f"Merci ! Votre commande {number} est enregistrée. Total : {chf('30.10')}."
    captions = [m["text"] for m in placed.messages if m.get("image")]
    assert len(captions) == 2
    assert captions[0].startswith(f"QR-facture : {chf('25.30')}, référence ")
    assert captions[1].startswith("Paiement en Léman : 4,80.")
