"""Erasing a person (right to erasure: revFADP art. 32, GDPR art. 17), with what the law makes us keep.

Deleted: the person's row itself, their chat identities, saved addresses, baskets, memberships, the messages
the marketplace sent them, and the conversation history Rasa keeps under each of their chat addresses.

Kept, anonymised: their orders, which are accounting records (Swiss Code of Obligations art. 958f: 10 years
from the end of the year, `[privacy] accounting_years`). An order keeps its number, date, lines, totals,
vendor orders, status steps and payments (amounts, references), its postal code and locality (the delivery
zone its fee was charged for, shared by thousands of people); it loses its link to the person (`person_id`
NULL: the column allows it and every reader handles an order without a person), the recipient's name, the
street, the details, the phone and the map position, and the bank account or wallet its payments came from
(unless a refund is still due: then it stays with the order, to pay it back). Work notices about these
orders sent to vendors and couriers are deleted (a vendor's notice of a new order names the recipient's
first name).

Called from inside a conversation (a Rasa action), the erasure runs before Rasa stores the current turn: the
caller deletes that turn's events once Rasa has answered (`privacy.conversations.forget_conversations`).

The person's row is deleted, not scrubbed: every row pointing at it either goes with it (identities,
memberships, baskets, addresses: ON DELETE CASCADE) or is unlinked first (orders, status steps, vendor
changes, link codes: SET NULL), so nothing remains to tell that the person existed. Writing again to the bot
later starts a new, empty account.

A vendor member or a courier erases their own person the same way: their membership goes, their
organisation's products, prices and orders stay (they are the business's, not personal data), and the
changes they made stay in its audit trail without their name.

Refused while an order of theirs is still open (not delivered, cancelled or refunded): it is still being
prepared, delivered or paid, and needs the address and the chat to finish.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from babel.dates import format_date
from sqlalchemy import delete, func, or_, select, update

from catalog.audit import AuditEntry
from checkout.address_book import SavedAddress
from checkout.models import Basket, BasketLine, Order, StatusChange
from checkout.status import CLOSED, OrderStatus
from marketplace.accounts import Person
from marketplace.applications import ApplicationStatus, VendorApplication
from marketplace.db import UnitOfWork
from marketplace.errors import MarketplaceError
from marketplace.i18n import BABEL_LOCALES, translate
from marketplace.linking import LinkCode
from marketplace.outbox import OutboxMessage, OutboxStatus
from marketplace.settings import PrivacySettings
from payments.models import LemanTransaction, PaymentCredit, PaymentLeg, RefundStatus
from privacy.conversations import forget_conversations
from privacy.notice import duration
from privacy.people import chat_addresses
from privacy.rules import ADDRESS_COLUMNS, PAYER_FORGETTABLE, SENDER_FORGETTABLE

log = logging.getLogger(__name__)

# An order is finished, and may be kept anonymised, once delivered, cancelled or refunded.
FINISHED = CLOSED | {OrderStatus.DELIVERED}
# Notices no dispatcher holds any more: only a record of what was sent (or could not be).
SETTLED_NOTICES = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.IN_DOUBT, OutboxStatus.UNREACHABLE)
# The one kind of work notice that names the customer (the recipient's first name, checkout/notifications.py):
# deleted even before it is sent, as it is moot once the order is finished. Others still to send (a vendor
# told of a cancellation) name no one and are left to the dispatcher.
NAMING_THE_CUSTOMER = ("new_order",)


class OpenOrders(MarketplaceError):
    """The person still has orders under way (`orders`: their numbers); they must be delivered or cancelled
    before the account can be erased."""

    code = "erasure_open_orders"

    def __init__(self, numbers: list[str]) -> None:
        self.numbers = tuple(numbers)
        super().__init__(orders=", ".join(numbers))


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure deleted and what it kept, and why: the one message the person gets, and the admin's."""

    erased_at: datetime
    # Rows deleted per kind: account, chat_identities, saved_addresses, baskets, memberships, messages,
    # conversation_events.
    deleted: dict[str, int]
    kept_orders: tuple[str, ...]  # numbers of the orders kept anonymised
    accounting_years: int
    kept_until: date | None  # the last day the latest kept order is kept (end of its year + accounting_years)
    organisations: tuple[str, ...] = ()  # whose business data stays: the person was their member or courier
    refunds_due: int = 0  # money to give back: the account it came from is kept with the order, to refund it
    notices_deleted: int = 0  # work notices about the kept orders, sent to vendors and couriers
    details: dict[str, int] = field(default_factory=dict)  # other links removed: status steps, changes, codes…


def keep_until(created: datetime, years: int) -> date:
    """The last day an order of `created` is kept: the end of its year, plus `years` years."""
    return date(created.year + years, 12, 31)


def open_orders(uow: UnitOfWork, person: Person) -> list[Order]:
    """The person's orders still under way: neither delivered, cancelled nor refunded."""
    orders = uow.session.scalars(select(Order).where(Order.person_id == person.id).order_by(Order.id))
    return [order for order in orders if order.status not in FINISHED]


def _anonymise_orders(orders: list[Order]) -> None:
    for order in orders:
        order.person = None
        for column in ADDRESS_COLUMNS:
            setattr(order, column.key, None)


def _unlink_payers(uow: UnitOfWork, order_ids: list[int]) -> int:
    """Forget the account each payment of these orders came from, unless money is still to be given back to
    it; returns how many are kept for a refund due."""
    legs = select(PaymentLeg.id).where(PaymentLeg.order_id.in_(order_ids))
    credits = PaymentCredit.leg_id.in_(legs)
    uow.session.execute(
        update(PaymentCredit)
        .where(credits, PAYER_FORGETTABLE)
        .values(payer="")
        .execution_options(synchronize_session=False)
    )
    references = select(PaymentLeg.reference).where(PaymentLeg.order_id.in_(order_ids))
    uow.session.execute(
        update(LemanTransaction)
        .where(LemanTransaction.reference.in_(references), SENDER_FORGETTABLE)
        .values(sender="")
        .execution_options(synchronize_session=False)
    )
    due = select(func.count(PaymentCredit.id)).where(credits, PaymentCredit.refund_status == RefundStatus.DUE)
    return uow.session.scalar(due) or 0


def _delete_notices(uow: UnitOfWork, person: Person, numbers: list[str]) -> tuple[int, int]:
    """Delete the messages sent to the person, and the work notices about their orders sent to others (those
    still to send only if they name the customer); returns (to the person, about their orders)."""
    own = uow.session.execute(
        delete(OutboxMessage).where(OutboxMessage.person_id == person.id).execution_options(synchronize_session=False)
    )
    about = 0
    for number in numbers:
        result = uow.session.execute(
            delete(OutboxMessage)
            .where(
                OutboxMessage.key.startswith(f"order:{number}:", autoescape=True),
                or_(OutboxMessage.status.in_(SETTLED_NOTICES), OutboxMessage.kind.in_(NAMING_THE_CUSTOMER)),
            )
            .execution_options(synchronize_session=False)
        )
        about += result.rowcount or 0
    return own.rowcount or 0, about


def _unlink(uow: UnitOfWork, person: Person) -> dict[str, int]:
    """Rows that stay (an order's status steps, a vendor's audit trail, used link codes) but no longer say who."""
    unlinked = {}
    for name, column in (
        ("status_steps", StatusChange.actor_id),
        ("vendor_changes", AuditEntry.actor_id),
        ("link_codes", LinkCode.used_by),
    ):
        result = uow.session.execute(
            update(column.class_)
            .where(column == person.id)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
        unlinked[name] = result.rowcount or 0
    return unlinked


def _delete_owned(uow: UnitOfWork, person: Person) -> dict[str, int]:
    baskets = select(Basket.id).where(Basket.person_id == person.id)
    uow.session.execute(
        delete(BasketLine).where(BasketLine.basket_id.in_(baskets)).execution_options(synchronize_session=False)
    )
    counts = {}
    for name, model in (("baskets", Basket), ("saved_addresses", SavedAddress)):
        result = uow.session.execute(
            delete(model).where(model.person_id == person.id).execution_options(synchronize_session=False)
        )
        counts[name] = result.rowcount or 0
    # A business application not approved is only theirs (a sole trader's address and IBAN); an approved one is
    # the organisation's record and stays, without its link to the person (marketplace/applications.py).
    unapproved = delete(VendorApplication).where(
        VendorApplication.person_id == person.id, VendorApplication.status != ApplicationStatus.APPROVED
    )
    uow.session.execute(unapproved.execution_options(synchronize_session=False))
    return counts


def erase_person(
    uow: UnitOfWork, person: Person, now: datetime, *, accounting_years: int = PrivacySettings.accounting_years
) -> ErasureReport:
    """Erase `person` as described above, in the caller's transaction (the caller commits); OpenOrders while an
    order of theirs is under way. `accounting_years`: the deployment's `[privacy] accounting_years`."""
    still_open = open_orders(uow, person)
    if still_open:
        raise OpenOrders([order.number for order in still_open])
    orders = list(uow.session.scalars(select(Order).where(Order.person_id == person.id).order_by(Order.id)))
    numbers = [order.number for order in orders]
    addresses = chat_addresses(person)
    organisations = tuple(sorted({m.organisation.name for m in person.memberships}))
    deleted = {"chat_identities": len(person.identities), "memberships": len(person.memberships)}

    _anonymise_orders(orders)
    refunds_due = _unlink_payers(uow, [order.id for order in orders]) if orders else 0
    deleted["messages"], notices = _delete_notices(uow, person, numbers)
    details = _unlink(uow, person)
    deleted |= _delete_owned(uow, person)
    deleted["conversation_events"] = forget_conversations(uow, addresses)
    uow.session.delete(person)  # its identities and memberships go with it (ORM and ON DELETE CASCADE)
    deleted["account"] = 1
    uow.session.flush()

    latest = max((order.created_at for order in orders), default=None)
    log.info(
        "personal data erased: %d orders kept anonymised, %d conversation events deleted",
        len(orders), deleted["conversation_events"],
    )  # fmt: skip
    return ErasureReport(
        erased_at=now,
        deleted=deleted,
        kept_orders=tuple(numbers),
        accounting_years=accounting_years,
        kept_until=keep_until(latest, accounting_years) if latest else None,
        organisations=organisations,
        refunds_due=refunds_due,
        notices_deleted=notices,
        details=details,
    )


def erasure_message(report: ErasureReport, lang: str) -> str:
    """The one message that tells the person what was deleted, what was kept and why, in their language."""
    parts = [translate("privacy.erased.done", lang)]
    if report.kept_orders:
        until = format_date(report.kept_until, "long", locale=BABEL_LOCALES.get(lang, "fr_CH"))
        orders = ", ".join(report.kept_orders)
        years = duration(report.accounting_years, "years", lang)
        parts.append(translate("privacy.erased.orders_kept", lang, orders=orders, years=years, until=until))
    if report.refunds_due:
        parts.append(translate("privacy.erased.refund_due", lang))
    if report.organisations:
        parts.append(translate("privacy.erased.organisations", lang, organisations=", ".join(report.organisations)))
    if not report.kept_orders and not report.refunds_due:
        parts.append(translate("privacy.erased.nothing_kept", lang))
    return "\n\n".join(parts)
