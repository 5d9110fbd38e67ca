"""Delivery slots: offered by postal code, cut-off and room; booked atomically; the fee goes in the order."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bootstrap import App
from checkout.delivery import SlotBooking, add_slot, add_zone, available_slots, book_slot
from checkout.services import DeliveryChoice, add_to_basket, cancel_order, place_order
from marketplace.accounts import OrganisationKind, add_organisation, person_for_chat
from marketplace.errors import SlotFull
from tests.conftest import person

ZURICH = ZoneInfo("Europe/Zurich")


@pytest.fixture
def couriers(app: App, shop: dict[str, int]) -> dict[str, int]:
    with app.db.uow() as uow:
        add_organisation(uow, "velo-ge", "Vélo GE", OrganisationKind.DELIVERY)
        add_organisation(uow, "cargo-rive", "Cargo Rive", OrganisationKind.DELIVERY)
        add_zone(uow, "velo-ge", "1200-1209")
        add_zone(uow, "cargo-rive", "1220-1229")
        now = datetime.now(ZURICH)
        tomorrow = (now + timedelta(days=1)).strftime("%a").lower()
        ids = {
            "evening": add_slot(uow, "velo-ge", tomorrow, "17:00", "19:00", 2, Decimal("6.00"), cutoff_hours=2).id,
            "other_company": add_slot(uow, "cargo-rive", tomorrow, "17:00", "19:00", 5, Decimal("9.00")).id,
        }
        uow.commit()
    return ids


def test_only_slots_serving_the_postal_code_with_room_before_cutoff(app: App, couriers: dict[str, int]) -> None:
    now = datetime.now(ZURICH)
    with app.db.uow() as uow:
        offers = available_slots(uow, "1205", now, days_ahead=6)
        assert {o.slot_id for o in offers} == {couriers["evening"]} and offers[0].remaining == 2
        assert {o.slot_id for o in available_slots(uow, "1225", now, 6)} == {couriers["other_company"]}
        assert available_slots(uow, "1950", now, 6) == []  # Sion is nobody's zone
        day = offers[0].day
        late = datetime.combine(day, datetime.strptime("15:30", "%H:%M").time(), tzinfo=ZURICH)
        assert available_slots(uow, "1205", late, 6) == [] or all(
            o.day > day for o in available_slots(uow, "1205", late, 6)
        )
        book_slot(uow, couriers["evening"], day)
        book_slot(uow, couriers["evening"], day)
        with pytest.raises(SlotFull):
            book_slot(uow, couriers["evening"], day)
        assert all(o.day != day for o in available_slots(uow, "1205", now, 6))  # full: not offered


def test_the_order_books_the_slot_pays_its_fee_and_gives_it_back_when_cancelled(
    app: App, shop: dict[str, int], couriers: dict[str, int]
) -> None:
    with app.db.uow() as uow:
        offer = available_slots(uow, "1205", datetime.now(ZURICH), 6)[0]
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], Decimal(1))
        order = place_order(uow, app.settings, buyer, DeliveryChoice("delivery", "1205", offer.label, "chf"))
        assert order.delivery_fee == Decimal("6.00") and order.delivery_company.slug == "velo-ge"
        uow.commit()
        number = order.number
    with app.db.uow() as uow:
        booked = uow.session.scalar(select(SlotBooking.booked).where(SlotBooking.slot_id == couriers["evening"]))
        assert booked == 1
        cancel_order(uow, person(uow, shop["consumer"]), number)
        uow.commit()
        booked = uow.session.scalar(select(SlotBooking.booked).where(SlotBooking.slot_id == couriers["evening"]))
        assert booked == 0


def test_concurrent_checkouts_never_overbook_a_slot(app: App, shop: dict[str, int], couriers: dict[str, int]) -> None:
    """Eight people check out at once for the last two places (on PostgreSQL in CI's second pass)."""
    with app.db.uow() as uow:
        offer = available_slots(uow, "1205", datetime.now(ZURICH), 6)[0]
        buyers = []
        for n in range(8):
            buyer = person_for_chat(uow, f"telegram:{9100 + n}")
            add_to_basket(uow, buyer, shop["wine"], Decimal(1))
            buyers.append(buyer.id)
        uow.commit()
    results: list[str] = []
    barrier = threading.Barrier(len(buyers))

    def checkout(person_id: int) -> None:
        barrier.wait()
        try:
            with app.db.uow() as uow:
                choice = DeliveryChoice("delivery", "1205", offer.label, "chf")
                place_order(uow, app.settings, person(uow, person_id), choice)
                uow.commit()
                results.append("ok")
        except SlotFull:
            results.append("full")
        except Exception as exc:  # a serialisation failure is a refusal too, never an overbooking
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=checkout, args=(b,)) for b in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with app.db.uow() as uow:
        booked = uow.session.scalar(select(SlotBooking.booked).where(SlotBooking.slot_id == couriers["evening"]))
    assert results.count("ok") == 2 and booked == 2, results
