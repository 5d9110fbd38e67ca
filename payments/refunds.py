"""Money to give back: credits that could not pay a leg (another currency, a cancelled or already paid leg,
an unknown reference) or the surplus of an overpayment. An admin lists them (`admin_cli.py payments
refunds`), pays them back by hand and marks them refunded; the customer hears of both steps in their
language, through the outbox.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from sqlalchemy import select

from checkout.models import Order
from marketplace.accounts import Person
from marketplace.clock import utcnow
from marketplace.db import UnitOfWork
from marketplace.i18n import BABEL_LOCALES, format_chf, translate
from marketplace.outbox import enqueue
from marketplace.settings import Settings
from payments.models import PaymentCredit, RefundStatus


class NoSuchRefund(LookupError):
    """No credit with this id is waiting for a refund."""


def amount_text(amount: Decimal, currency: str, lang: str, settings: Settings | None = None) -> str:
    """An amount as the customer reads it: "CHF 4.80", or "4,80 Léman" for the local currency."""
    if currency == "CHF":
        return format_chf(amount, lang)
    name = settings.local_currency.name if settings and currency == settings.local_currency.code else currency
    number = format_decimal(amount, format="#,##0.00", locale=BABEL_LOCALES.get(lang, "fr_CH"))
    return f"{number} {name}".strip()


def _customer(credit: PaymentCredit) -> tuple[Order, Person] | None:
    """The order a credit was for and who placed it (None: a credit matching no order, or a removed person)."""
    leg = credit.leg
    if leg is None or leg.order.person is None:
        return None
    return leg.order, leg.order.person


def tell_refund_due(uow: UnitOfWork, credit: PaymentCredit, settings: Settings | None = None) -> None:
    """The customer learns that money of theirs was not counted and will come back (nothing for a credit
    whose reference matches no order: we do not know whose it is)."""
    customer = _customer(credit)
    if customer is None:
        return
    order, person = customer
    lang = person.language
    text = translate(
        "notify.customer.refund_due",
        lang,
        order=order.number,
        amount=amount_text(credit.refund_amount, credit.currency, lang, settings),
        reason=translate(f"refund.reason.{credit.refund_reason}", lang),
    )
    enqueue(uow, f"credit:{credit.id}:refund_due:person:{person.id}", person, "refund_due", text)


def refunds(uow: UnitOfWork, include_refunded: bool = False) -> list[PaymentCredit]:
    """Credits with money to give back, oldest first (with those already refunded when asked)."""
    wanted = [RefundStatus.DUE, RefundStatus.REFUNDED] if include_refunded else [RefundStatus.DUE]
    query = select(PaymentCredit).where(PaymentCredit.refund_status.in_(wanted)).order_by(PaymentCredit.id)
    return list(uow.session.scalars(query))


def mark_refunded(uow: UnitOfWork, credit_id: int, note: str = "", settings: Settings | None = None) -> PaymentCredit:
    """An admin paid the money back: the credit leaves the list and the customer is told."""
    credit = uow.session.scalars(
        select(PaymentCredit)
        .where(PaymentCredit.id == credit_id, PaymentCredit.refund_status == RefundStatus.DUE)
        .with_for_update()
    ).one_or_none()
    if credit is None:
        raise NoSuchRefund(credit_id)
    credit.refund_status, credit.refunded_at, credit.refund_note = RefundStatus.REFUNDED, utcnow(), note[:200]
    if (customer := _customer(credit)) is not None:
        order, person = customer
        lang = person.language
        text = translate(
            "notify.customer.refunded",
            lang,
            order=order.number,
            amount=amount_text(credit.refund_amount, credit.currency, lang, settings),
        )
        enqueue(uow, f"credit:{credit.id}:refunded:person:{person.id}", person, "refunded", text)
    uow.session.flush()
    return credit
