"""e-Léman payments (Monnaie Léman on the Com'Chain network, paid with the Biletujo wallet app).

- A payment request is a QR code holding JSON with the shop's wallet, the amount, the shop id, the order
  reference, the server name and a text; the wallet app reads it and pays.
- The node confirms with a webhook: JSON with `id` (transaction hash), `create_time`, `event_type`
  (PAYMENT.SALE.COMPLETED or ...PENDING) and a `resource` (also spelled `resources`) holding store_id,
  reference, addr_from, addr_to, amount.sent / amount.recieved in cents, currency; signed in the
  COMCHAIN-TRANSMISSION-SIG header: base64 RSA PKCS#1 v1.5 (SHA-256) over
  `id|create_time|store_id|crc32(body)` with the node's key.
- We check the signature, the recipient wallet, the shop, the amount and the reference, and count each
  transaction hash once; a pending payment shows as pending until it completes.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from checkout.models import Order
from marketplace.db import UnitOfWork
from marketplace.settings import LemanSettings, Settings
from payments.models import LegMethod, LegStatus, LemanTransaction, PaymentLeg
from payments.services import confirm_leg

SIGNATURE_HEADER = "COMCHAIN-TRANSMISSION-SIG"
COMPLETED = "PAYMENT.SALE.COMPLETED"
PENDING = "PAYMENT.SALE.PENDING"


class WebhookRejected(Exception):
    """A webhook we do not act on; `status` is the HTTP answer (401 bad signature, 422 wrong content)."""

    def __init__(self, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.status = status


def payment_request(settings: Settings, order: Order, leg: PaymentLeg) -> str:
    """The JSON the wallet app reads from the QR code (amount as a JSON number with 2 decimals)."""
    leman = _leman(settings)
    fields = {
        "address": leman.wallet,
        "amount": "__AMOUNT__",
        "shopId": leman.shop_id,
        "txId": leg.reference,
        "serverName": leman.server_name,
        "ref": f"{settings.name} {order.number}",
    }
    # Money stays Decimal up to the wire: the number is written from its exact text, never via float.
    return json.dumps(fields, ensure_ascii=False).replace('"__AMOUNT__"', f"{leg.amount:.2f}")


def qr_png(text: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def _leman(settings: Settings) -> LemanSettings:
    if settings.payments is None or settings.payments.leman is None:
        raise WebhookRejected("e-Léman is not configured for this deployment", 503)
    return settings.payments.leman


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the e-Léman node key must be an RSA public key")
    return key


@dataclass(frozen=True)
class LemanEvent:
    tx_hash: str
    completed: bool
    store_id: str
    reference: str
    sender: str
    recipient: str
    amount: Decimal  # received, in Léman
    currency: str


def signed_message(payload: Mapping[str, Any], body: bytes) -> bytes:
    resource = payload.get("resource") or payload.get("resources") or {}
    return f"{payload.get('id')}|{payload.get('create_time')}|{resource.get('store_id')}|{zlib.crc32(body)}".encode()


def verify_webhook(body: bytes, headers: Mapping[str, str], public_key: rsa.RSAPublicKey) -> LemanEvent:
    """The event a correctly signed webhook carries; WebhookRejected otherwise."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("body is not JSON", 400) from exc
    signature = next((v for k, v in headers.items() if k.upper() == SIGNATURE_HEADER), "")
    try:
        public_key.verify(
            base64.b64decode(signature), signed_message(payload, body), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError) as exc:
        raise WebhookRejected("bad signature", 401) from exc
    resource = payload.get("resource") or payload.get("resources")
    if not isinstance(resource, dict):
        raise WebhookRejected("no resource")
    amount = resource.get("amount") or {}
    try:
        cents = Decimal(str(amount.get("recieved", amount.get("received", amount.get("sent")))))
    except InvalidOperation as exc:
        raise WebhookRejected("no amount") from exc
    event_type = str(payload.get("event_type", ""))
    if event_type not in (COMPLETED, PENDING):
        raise WebhookRejected(f"unexpected event type {event_type!r}")
    return LemanEvent(
        tx_hash=str(payload.get("id", "")),
        completed=event_type == COMPLETED,
        store_id=str(resource.get("store_id", "")),
        reference=str(resource.get("reference", "")),
        sender=str(resource.get("addr_from", "")).lower(),
        recipient=str(resource.get("addr_to", "")).lower(),
        amount=(cents / 100).quantize(Decimal("0.01")),
        currency=str(resource.get("currency", "")),
    )


@dataclass(frozen=True)
class LemanOutcome:
    outcome: str  # paid, pending, partial, overpaid, duplicate
    order: str


def apply_event(uow: UnitOfWork, settings: Settings, event: LemanEvent) -> LemanOutcome:
    """Act on a verified event (from the webhook or from polling), once per transaction hash."""
    leman = _leman(settings)
    if not event.tx_hash:
        raise WebhookRejected("no transaction id")
    if event.recipient != leman.wallet.lower():
        raise WebhookRejected("payment to another wallet")
    if event.store_id and event.store_id != leman.shop_id:
        raise WebhookRejected("payment to another shop")
    leg = uow.session.scalar(
        select(PaymentLeg).where(PaymentLeg.reference == event.reference, PaymentLeg.method == LegMethod.LEMAN)
    )
    if leg is None:
        raise WebhookRejected("unknown reference")
    if event.amount <= 0:
        raise WebhookRejected("wrong amount")
    known = uow.session.scalar(select(LemanTransaction).where(LemanTransaction.tx_hash == event.tx_hash))
    number = leg.order.number
    if known is not None and (known.status == "completed" or not event.completed):
        return LemanOutcome("duplicate", number)
    if known is None:
        known = LemanTransaction(
            tx_hash=event.tx_hash, status="pending", reference=event.reference, amount=event.amount, sender=event.sender
        )
        uow.session.add(known)
    if not event.completed:
        if leg.status == LegStatus.AWAITING:
            leg.status = LegStatus.PENDING
        uow.session.flush()
        return LemanOutcome("pending", number)
    known.status = "completed"
    result = confirm_leg(uow, leg, event.amount, f"leman:{event.tx_hash}")
    if result.outcome == "partial" and leg.status == LegStatus.PENDING:
        leg.status = LegStatus.AWAITING
    uow.session.flush()
    return LemanOutcome(result.outcome, number)
