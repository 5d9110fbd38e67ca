"""A person's copy of everything the marketplace holds about them (right of access and portability: revFADP
art. 25 and 28, GDPR art. 15 and 20), as JSON-ready data, and the file the chat sends them.

What is in it: the account, chat identities, memberships (the organisation's name and the role, not its
business), saved addresses and each order's delivery address (decrypted), baskets, orders with their lines,
status steps, payments and the money received for them, link codes redeemed, changes made as a vendor
member, the messages the marketplace sent them, and the conversation history Rasa keeps for each of their
chat addresses. Nothing about anyone else: no staff member who moved an order, no other customer, no
organisation's commission or payout; a payer's account number is shown masked, since a friend may have paid.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from catalog.audit import AuditEntry
from catalog.taxonomy import localized
from checkout.address_book import SavedAddress, order_delivery
from checkout.models import Basket, Order, StatusChange
from marketplace.accounts import Organisation, Person
from marketplace.clock import utcnow
from marketplace.db import UnitOfWork
from marketplace.linking import LinkCode
from marketplace.media import write_private
from marketplace.outbox import OutboxMessage
from payments.models import PaymentCredit, PaymentLeg
from privacy.conversations import conversation_events
from privacy.people import chat_addresses

SCHEMA = "smartketplace-personal-data"
SCHEMA_VERSION = 1


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    # SQLite hands back naive datetimes; they were written in UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _masked(account: str) -> str:
    """An IBAN or a wallet, shown by its last four characters: whose account it is may be someone else's."""
    return f"…{account[-4:]}" if account else ""


def _account(person: Person) -> dict[str, Any]:
    return {
        "number": person.id,
        "display_name": person.display_name,
        "language": person.language,
        "status": person.status,
        "admin": person.is_admin,
        "created_at": _when(person.created_at),
    }


def _identities(person: Person) -> list[dict[str, Any]]:
    return [
        {"platform": i.platform, "id": i.external_id, "address": i.address, "reply_to": i.reply_to}
        for i in sorted(person.identities, key=lambda i: i.id)
    ]


def _memberships(person: Person) -> list[dict[str, Any]]:
    return [
        {"organisation": m.organisation.name, "slug": m.organisation.slug, "kind": m.organisation.kind, "role": m.role}
        for m in sorted(person.memberships, key=lambda m: m.id)
    ]


def _address(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in fields.items()}


def _saved_addresses(uow: UnitOfWork, person: Person) -> list[dict[str, Any]]:
    query = select(SavedAddress).where(SavedAddress.person_id == person.id).order_by(SavedAddress.id)
    return [
        _address({
            "label": a.label, "recipient_name": a.recipient_name or "", "street": a.street,
            "details": a.details or "", "postal_code": a.postal_code, "locality": a.locality, "phone": a.phone or "",
            "latitude": a.latitude, "longitude": a.longitude,
            "created_at": _when(a.created_at), "last_used_at": _when(a.last_used_at),
        })
        for a in uow.session.scalars(query)
    ]  # fmt: skip


def _baskets(uow: UnitOfWork, person: Person) -> list[dict[str, Any]]:
    baskets = uow.session.scalars(select(Basket).where(Basket.person_id == person.id).order_by(Basket.id))
    return [
        {
            "updated_at": _when(basket.updated_at),
            "local_currency_wanted": _money(basket.leman_wanted),
            "lines": [
                {
                    "sku": line.product.sku,
                    "product": localized(line.product.names, person.language),
                    "vendor": line.product.vendor.name,
                    "quantity": str(line.quantity),
                    "unit": line.product.unit,
                }
                for line in basket.lines
            ],
        }
        for basket in baskets
    ]


def _delivery(order: Order) -> dict[str, Any] | None:
    address = order_delivery(order)
    if address is None:
        return None
    return _address({
        "recipient_name": address.recipient_name, "street": address.street, "details": address.details,
        "postal_code": address.postal_code, "locality": address.locality, "phone": address.phone,
        "latitude": address.latitude, "longitude": address.longitude,
    })  # fmt: skip


def _history(steps: list[StatusChange]) -> list[dict[str, Any]]:
    # Who made each step (a vendor's staff, a courier) is theirs, not the customer's: left out.
    return [{"from": s.old_status, "to": s.new_status, "at": _when(s.changed_at)} for s in steps]


def _payments(uow: UnitOfWork, order: Order) -> list[dict[str, Any]]:
    legs = uow.session.scalars(select(PaymentLeg).where(PaymentLeg.order_id == order.id).order_by(PaymentLeg.id))
    payments = []
    for leg in legs:
        credits = uow.session.scalars(
            select(PaymentCredit).where(PaymentCredit.leg_id == leg.id).order_by(PaymentCredit.id)
        )
        payments.append({
            "method": leg.method, "currency": leg.currency, "amount": _money(leg.amount), "reference": leg.reference,
            "status": leg.status, "received": _money(leg.received),
            "created_at": _when(leg.created_at), "paid_at": _when(leg.paid_at),
            "credits": [
                {
                    "source": c.source, "amount": _money(c.amount), "currency": c.currency,
                    "counted": _money(c.counted), "refund_amount": _money(c.refund_amount),
                    "refund_reason": c.refund_reason, "refund_status": c.refund_status, "payer": _masked(c.payer),
                    "booked_on": c.booked_on, "received_at": _when(c.received_at), "refunded_at": _when(c.refunded_at),
                }
                for c in credits
            ],
        })  # fmt: skip
    return payments


def _order(uow: UnitOfWork, order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "created_at": _when(order.created_at),
        "status": order.status.value,
        "language": order.language,
        "delivery_mode": order.delivery_mode,
        "postal_code": order.postal_code,
        "time_slot": order.time_slot,
        "delivery_company": order.delivery_company.name if order.delivery_company else None,
        "delivery_address": _delivery(order),
        "payment_method": order.payment_method,
        "local_currency_wanted": _money(order.leman_wanted),
        "goods_total": _money(order.goods_total),
        "delivery_fee": _money(order.delivery_fee),
        "total": _money(order.total),
        "payable_in_local_currency": _money(order.leman_payable),
        "vendors": [
            {
                "vendor": part.vendor.name,
                "status": part.status,
                "goods_total": _money(part.goods_total),
                "local_currency_due": _money(part.leman_due),
                "lines": [
                    {
                        "sku": line.sku, "name": line.name, "unit": line.unit, "quantity": str(line.quantity),
                        "unit_price": _money(line.unit_price), "vat_rate": str(line.vat_rate),
                        "total": _money(line.total),
                    }
                    for line in part.lines
                ],
                "history": _history(part.history),
            }
            for part in order.vendor_orders
        ],
        "payments": _payments(uow, order),
    }  # fmt: skip


def _orders(uow: UnitOfWork, person: Person) -> list[dict[str, Any]]:
    orders = uow.session.scalars(select(Order).where(Order.person_id == person.id).order_by(Order.id))
    return [_order(uow, order) for order in orders]


def _link_codes(uow: UnitOfWork, person: Person) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(Organisation.name, LinkCode.used_at)
        .join(Organisation, Organisation.id == LinkCode.organisation_id)
        .where(LinkCode.used_by == person.id)
        .order_by(LinkCode.id)
    )
    return [{"organisation": name, "redeemed_at": _when(used_at)} for name, used_at in rows]


def _audit(uow: UnitOfWork, person: Person) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(AuditEntry, Organisation.name)
        .join(Organisation, Organisation.id == AuditEntry.vendor_id)
        .where(AuditEntry.actor_id == person.id)
        .order_by(AuditEntry.id)
    )
    return [
        {
            "at": _when(e.at),
            "organisation": name,
            "sku": e.sku,
            "field": e.field,
            "from": e.old_value,
            "to": e.new_value,
        }
        for e, name in rows
    ]


def _about_someone_else(message: OutboxMessage, own_orders: set[str]) -> bool:
    """A work notice about another customer's order (a vendor's new order names its recipient's first name)."""
    kind, _, rest = message.key.partition(":")
    if kind == "application":  # an admin's notice of someone's application carries their address and IBAN
        return ":admin:" in rest
    return kind == "order" and rest.partition(":")[0] not in own_orders


def _messages(uow: UnitOfWork, person: Person, own_orders: set[str]) -> list[dict[str, Any]]:
    rows = uow.session.scalars(
        select(OutboxMessage).where(OutboxMessage.person_id == person.id).order_by(OutboxMessage.id)
    )
    return [
        {
            "kind": m.kind, "platform": m.platform, "to": m.destination, "status": m.status,
            # The text of a notice about someone else's order is theirs too: only that it was sent is shown.
            "text": None if _about_someone_else(m, own_orders) else m.text,
            "created_at": _when(m.created_at), "sent_at": _when(m.sent_at),
        }
        for m in rows
    ]  # fmt: skip


def _applications(uow: UnitOfWork, person: Person) -> list[dict[str, Any]]:
    """The person's applications to sell or deliver on the marketplace (marketplace/applications.py)."""
    from marketplace.applications import VendorApplication  # the export's other sections need none of it

    rows = uow.session.scalars(
        select(VendorApplication).where(VendorApplication.person_id == person.id).order_by(VendorApplication.id)
    )
    return [
        {
            "number": a.id, "kind": a.kind, "trade_name": a.trade_name, "uid": a.uid, "address": a.address,
            "iban": a.iban, "leman_share_pct": a.leman_share_pct, "categories": list(a.categories),
            "description": a.description, "terms_version": a.terms_version, "status": a.status,
            "refusal_reason": a.refusal_reason, "created_at": _when(a.created_at), "decided_at": _when(a.decided_at),
        }
        for a in rows
    ]  # fmt: skip


def export_person(uow: UnitOfWork, person: Person, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about `person`, as JSON-ready data (strings, numbers, lists, dicts; amounts as strings)."""
    orders = _orders(uow, person)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": _when(now or utcnow()),
        "account": _account(person),
        "chat_identities": _identities(person),
        "memberships": _memberships(person),
        "saved_addresses": _saved_addresses(uow, person),
        "baskets": _baskets(uow, person),
        "orders": orders,
        # Nothing here rests on consent (an account, an order, a delivery are what the person asked for): no
        # consent is recorded, and the list stays empty until one is.
        "consents": [],
        "link_codes_redeemed": _link_codes(uow, person),
        "business_applications": _applications(uow, person),
        "changes_made": _audit(uow, person),
        "messages_sent_to_you": _messages(uow, person, {order["number"] for order in orders}),
        "conversations": [
            {"address": address, "events": conversation_events(uow, address)} for address in chat_addresses(person)
        ],
    }


def export_json(data: dict[str, Any]) -> bytes:
    """The export as UTF-8 JSON, indented for a person to read (non-ASCII letters kept as they are)."""
    return (json.dumps(data, ensure_ascii=False, indent=2, default=_fallback) + "\n").encode("utf-8")


def _fallback(value: object) -> str:
    """A date or an amount left in the data (a value JSON has no type for) as text; anything else is a bug."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON-ready: {type(value).__name__}")


def export_filename(now: datetime | None = None) -> str:
    """A file name that names no one: the date and a random part (two exports never overwrite each other)."""
    return f"personal-data-{(now or utcnow()):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.json"


def export_file(uow: UnitOfWork, person: Person, path: Path, now: datetime | None = None) -> Path:
    """Write the person's export to `path` (a folder: a new file in it), readable by its owner only (0600, in
    0700 folders when created); the bot sends it as a document, and deletes it."""
    target = path / export_filename(now) if path.is_dir() else path
    return write_private(target, export_json(export_person(uow, person, now)))
