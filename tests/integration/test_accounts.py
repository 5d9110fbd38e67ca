"""Accounts: chat identities, organisations, roles and the vendor guard."""

from decimal import Decimal

import pytest

from bot.addresses import parse_chat_address
from marketplace.accounts import (
    OrganisationKind,
    Role,
    add_member,
    add_organisation,
    person_for_chat,
    roles_of,
)
from marketplace.errors import InvalidInput, InvalidPrice, InvalidQuantity, PermissionDenied
from tests.conftest import person
from work.vendors import set_price, set_stock


@pytest.mark.parametrize(
    ("address", "parsed"),
    [("telegram:123456", ("telegram", "123456")), ("matrix:@ana:example.org", ("matrix", "@ana:example.org"))],
)
def test_chat_addresses(address, parsed):
    assert parse_chat_address(address) == parsed


@pytest.mark.parametrize("address", ["telegram:abc", "matrix:ana", "signal:+4179", "123"])
def test_bad_chat_addresses_are_refused(address):
    with pytest.raises(InvalidInput):
        parse_chat_address(address)


def test_one_person_per_chat_identity_created_on_first_contact(app):
    with app.db.uow() as uow:
        first = person_for_chat(uow, "telegram:42", language="de")
        again = person_for_chat(uow, "telegram:42", language="fr")
        assert first.id == again.id and again.language == "de"
        assert roles_of(first) == {Role.CONSUMER}


def test_roles_follow_memberships(app):
    with app.db.uow() as uow:
        courier = person_for_chat(uow, "telegram:7")
        add_member(uow, courier, add_organisation(uow, "velo-coop", "Vélo Coop", OrganisationKind.DELIVERY))
        farmer = person_for_chat(uow, "telegram:8")
        add_member(uow, farmer, add_organisation(uow, "ferme", "Ferme", OrganisationKind.PRODUCER))
        assert roles_of(courier) == {Role.CONSUMER, Role.COURIER}
        assert roles_of(farmer) == {Role.CONSUMER, Role.VENDOR_MEMBER}


def test_vendors_change_stock_and_price_of_their_own_products_only(app, shop):
    with app.db.uow() as uow:
        farmer = person(uow, shop["farmer"])
        assert set_stock(uow, farmer, shop["eggs"], Decimal(12)) == 12
        assert set_price(uow, farmer, shop["eggs"], Decimal("6.50")) == Decimal("6.50")
        with pytest.raises(PermissionDenied):
            set_stock(uow, farmer, shop["wine"], Decimal(0))
        with pytest.raises(PermissionDenied):
            set_price(uow, person(uow, shop["consumer"]), shop["eggs"], Decimal("1.00"))
        with pytest.raises(InvalidPrice):
            set_price(uow, farmer, shop["eggs"], Decimal("6.555"))
        with pytest.raises(InvalidQuantity):
            set_stock(uow, farmer, shop["eggs"], Decimal(-1))


def test_work_roles_count_only_while_the_person_and_the_organisation_are_approved(app):
    from marketplace.accounts import ApprovalStatus, set_organisation_status

    with app.db.uow() as uow:
        farmer = person_for_chat(uow, "telegram:8")
        add_member(uow, farmer, add_organisation(uow, "ferme", "Ferme", OrganisationKind.PRODUCER))
        set_organisation_status(uow, "ferme", ApprovalStatus.SUSPENDED)
        assert roles_of(farmer) == {Role.CONSUMER}
        set_organisation_status(uow, "ferme", ApprovalStatus.APPROVED)
        assert roles_of(farmer) == {Role.CONSUMER, Role.VENDOR_MEMBER}
        farmer.status, farmer.is_admin = ApprovalStatus.SUSPENDED, True
        assert roles_of(farmer) == {Role.CONSUMER}
