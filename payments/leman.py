"""e-Léman payments (Monnaie Léman on the Com'Chain network, paid with the Biletujo wallet app).

- A payment request is a QR code holding JSON with the shop's wallet, the amount, the shop id, the leg's
  reference (`txId`, which the node records as the transaction's `store_ref`), the server name and a text;
  the wallet app reads it and pays.
- The node announces a payment with a webhook: JSON with `id` (transaction hash), `create_time`,
  `event_type` (PAYMENT.SALE.COMPLETED or ...PENDING) and a `resource` (also spelled `resources`) holding
  store_id, reference, addr_from, addr_to, amount.sent / amount.recieved in cents; signed in the
  COMCHAIN-TRANSMISSION-SIG header: base64 RSA PKCS#1 v1.5 (SHA-256) over
  `id|create_time|store_id|crc32(body)` with the node's key.
- That signature covers the body only through a CRC32, which anyone can forge: keep the id, rewrite the
  body, adjust four bytes' worth of it until the CRC32 is the same, and the signature still verifies. So a
  webhook is only a *hint* that transaction `id` exists. Its hash is stored first (nothing is lost if we
  stop), then looked up on the node (`payments.comchain`); only what the node says is counted: final,
  to our wallet, in our currency, for our shop, with a reference and an amount the webhook did not lie
  about. If the node cannot be reached nothing is concluded and the hash is looked up again later
  (`check_due`, run by the bot's payment jobs with back-off), as are payments still pending on the node.
- Each transaction hash is recorded once as a credit (`payment_credits`), whatever repeats it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from checkout.models import Order
from marketplace.clock import utcnow
from marketplace.db import Database, UnitOfWork
from marketplace.settings import LemanSettings, Settings
from payments.comchain import PAYMENT_TYPES, ComChainNode, NodeTransaction, NodeUnavailable, is_tx_hash
from payments.models import CreditSource, HintOrigin, HintStatus, LegMethod, LegStatus, LemanTransaction, PaymentLeg
from payments.services import IncomingCredit, record_credit

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "COMCHAIN-TRANSMISSION-SIG"
COMPLETED = "PAYMENT.SALE.COMPLETED"
PENDING = "PAYMENT.SALE.PENDING"
# The currency of a payment the node says moved another currency's contract (ISO 4217 "no currency").
OTHER_CURRENCY = "XXX"
MAX_RETRY_DELAY = timedelta(hours=1)


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


def node_for(settings: Settings, timeout: float = 10.0) -> ComChainNode | None:
    """The deployment's e-Léman node (None when none is configured: hints then wait)."""
    leman = settings.payments.leman if settings.payments else None
    if leman is None or not leman.node_url:
        return None
    return ComChainNode(leman.node_url, leman.server_name, timeout=timeout)


@dataclass(frozen=True)
class LemanEvent:
    """What a webhook claims. Not to be believed: see `check_transaction`."""

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
    """The claims of a webhook signed with the node's key; WebhookRejected otherwise. A valid signature only
    shows the node once sent a webhook for this transaction id (see the module's docstring)."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("body is not JSON", 400) from exc
    if not isinstance(payload, dict):
        raise WebhookRejected("body is not a JSON object", 400)
    signature = next((v for k, v in headers.items() if k.upper() == SIGNATURE_HEADER), "")
    resource = payload.get("resource") or payload.get("resources")
    try:
        public_key.verify(
            base64.b64decode(signature), signed_message(payload, body), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError, AttributeError) as exc:
        raise WebhookRejected("bad signature", 401) from exc
    if not isinstance(resource, dict):
        raise WebhookRejected("no resource")
    tx_hash = str(payload.get("id", "")).lower()
    if not is_tx_hash(tx_hash):
        raise WebhookRejected("the id is not a transaction hash")
    amount = resource.get("amount") if isinstance(resource.get("amount"), dict) else {}
    try:
        cents = Decimal(str(amount.get("recieved", amount.get("received", amount.get("sent")))))
        received = (cents / 100).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise WebhookRejected("no amount") from exc
    event_type = str(payload.get("event_type", ""))
    if event_type not in (COMPLETED, PENDING):
        raise WebhookRejected(f"unexpected event type {event_type!r}")
    return LemanEvent(
        tx_hash=tx_hash,
        completed=event_type == COMPLETED,
        store_id=str(resource.get("store_id", "")),
        reference=str(resource.get("reference", "")),
        sender=str(resource.get("addr_from", "")).lower(),
        recipient=str(resource.get("addr_to", "")).lower(),
        amount=received,
        currency=str(amount.get("currency", resource.get("currency", ""))),
    )


@dataclass(frozen=True)
class LemanOutcome:
    # paid, partial, overpaid, refund (counted for nothing: to refund), duplicate, pending (not final on the
    # node: looked up again later), queued (the node could not be asked: later), refused (see `reason`)
    outcome: str
    order: str = ""
    reason: str = ""


# --- hints ------------------------------------------------------------------------------------------------


def _hint(uow: UnitOfWork, tx_hash: str) -> LemanTransaction | None:
    return uow.session.scalars(
        select(LemanTransaction).where(LemanTransaction.tx_hash == tx_hash).with_for_update()
    ).one_or_none()


def record_hint(uow: UnitOfWork, event: LemanEvent, now: datetime | None = None) -> bool:
    """Keep a webhook's hash to look up (before asking the node, so a crash loses nothing). True when this
    webhook's claims are the ones kept (a new hash, or one whose earlier hint the node refuted)."""
    hint = _hint(uow, event.tx_hash)
    if hint is not None and hint.status != HintStatus.REFUSED:
        return False
    if hint is None:
        hint = LemanTransaction(tx_hash=event.tx_hash)
        uow.session.add(hint)
    hint.status, hint.origin, hint.completed_claimed = HintStatus.UNVERIFIED, HintOrigin.WEBHOOK, event.completed
    hint.reference, hint.amount, hint.sender = event.reference[:60], event.amount, event.sender[:64]
    hint.attempts, hint.next_check_at, hint.last_error = 0, now or utcnow(), ""
    uow.session.flush()
    return True


def record_node_hint(uow: UnitOfWork, tx_hash: str, now: datetime | None = None) -> bool:
    """Keep a hash from the node's own list of our wallet's transactions (a payment whose webhook never
    came, or whose webhook lied). True when there is something new to look up."""
    hint = _hint(uow, tx_hash)
    if hint is not None and not (hint.status == HintStatus.REFUSED and hint.origin == HintOrigin.WEBHOOK):
        return False
    if hint is None:
        hint = LemanTransaction(tx_hash=tx_hash)
        uow.session.add(hint)
    hint.status, hint.origin, hint.completed_claimed = HintStatus.UNVERIFIED, HintOrigin.NODE, False
    hint.reference, hint.amount, hint.sender = "", Decimal("0.00"), ""
    hint.attempts, hint.next_check_at, hint.last_error = 0, now or utcnow(), ""
    uow.session.flush()
    return True


def _claims(hint: LemanTransaction) -> LemanEvent | None:
    if hint.origin != HintOrigin.WEBHOOK:
        return None
    return LemanEvent(hint.tx_hash, hint.completed_claimed, "", hint.reference, hint.sender, "", hint.amount, "")


def _disagreements(claims: LemanEvent, found: NodeTransaction) -> list[str]:
    """What the webhook said that the node contradicts (only what the node states)."""
    wrong = []
    if found.reference and claims.reference != found.reference:
        wrong.append("reference")
    if found.amount is not None and claims.amount != found.amount:
        wrong.append("amount")
    if found.sender and claims.sender and claims.sender != found.sender:
        wrong.append("sender")
    if found.recipient and claims.recipient and claims.recipient != found.recipient:
        wrong.append("recipient")
    if found.store_id and claims.store_id and claims.store_id != found.store_id:
        wrong.append("shop")
    return wrong


def _retry_at(attempts: int, now: datetime) -> datetime:
    return now + min(timedelta(minutes=2 ** min(attempts, 10)), MAX_RETRY_DELAY)


def postpone(uow: UnitOfWork, tx_hash: str, why: str, now: datetime | None = None) -> None:
    """The node could not say: look the hash up again later (exponential back-off, at most an hour)."""
    hint = _hint(uow, tx_hash)
    if hint is None or hint.status not in (HintStatus.UNVERIFIED, HintStatus.PENDING):
        return
    hint.attempts += 1
    hint.next_check_at, hint.last_error = _retry_at(hint.attempts, now or utcnow()), why[:200]
    uow.session.flush()


def _refuse(hint: LemanTransaction, reason: str, settle_hint: bool) -> LemanOutcome:
    if settle_hint:
        hint.status, hint.next_check_at, hint.last_error = HintStatus.REFUSED, None, reason[:200]
    log.warning("e-Léman transaction %s refused: %s", hint.tx_hash, reason)
    return LemanOutcome("refused", reason=reason)


def settle(
    uow: UnitOfWork,
    settings: Settings,
    tx_hash: str,
    found: NodeTransaction | None,
    contracts: frozenset[str],
    claims: LemanEvent | None = None,
    owns_hint: bool = True,
    now: datetime | None = None,
) -> LemanOutcome:
    """Act on what the node says of `tx_hash`: refuse, wait, or record the credit. `claims` are the webhook's
    being checked (None: the stored hint's); a refuted webhook that does not own the stored hint (an earlier
    one for the same hash is waiting) leaves that hint alone."""
    leman = _leman(settings)
    hint = _hint(uow, tx_hash)
    if hint is None:
        raise ValueError(f"no hint for {tx_hash}")
    if hint.status == HintStatus.COMPLETED:
        return LemanOutcome("duplicate")
    own = owns_hint or claims is None
    claims = _claims(hint) if claims is None else claims
    if found is None:
        return _refuse(hint, "the node does not know this transaction", own)
    if claims is not None and (wrong := _disagreements(claims, found)):
        return _refuse(hint, f"the webhook disagrees with the node on: {', '.join(wrong)}", own)
    if found.recipient and found.recipient != leman.wallet.lower():
        return _refuse(hint, "payment to another wallet", own)
    if not found.final:
        return _wait(uow, hint, found, now)
    if not found.recipient:
        return _refuse(hint, "payment to another wallet", own)
    if found.kind not in PAYMENT_TYPES:
        return _refuse(hint, f"not a payment ({found.kind or 'no type'})", own)
    if found.store_id != leman.shop_id:
        return _refuse(hint, "payment to another shop", own)
    if found.amount is None or found.amount <= 0:
        return _refuse(hint, "no amount", own)
    leg = _leg(uow, found.reference)
    currency = settings.local_currency.code if found.contract in contracts else OTHER_CURRENCY
    incoming = IncomingCredit(CreditSource.LEMAN, tx_hash, found.reference, found.amount, currency, found.sender)
    result = record_credit(uow, leg, incoming, settings=settings, when=now)
    hint.status, hint.next_check_at, hint.last_error = HintStatus.COMPLETED, None, ""
    uow.session.flush()
    return LemanOutcome(result.outcome, leg.order.number if leg else "", result.reason)


def _leg(uow: UnitOfWork, reference: str) -> PaymentLeg | None:
    if not reference:
        return None
    return uow.session.scalar(
        select(PaymentLeg).where(PaymentLeg.reference == reference, PaymentLeg.method == LegMethod.LEMAN)
    )


def _wait(uow: UnitOfWork, hint: LemanTransaction, found: NodeTransaction, now: datetime | None) -> LemanOutcome:
    """Seen on the network, not final: the leg shows it as pending, and the node is asked again later."""
    hint.status = HintStatus.PENDING
    hint.attempts += 1
    hint.next_check_at, hint.last_error = _retry_at(hint.attempts, now or utcnow()), "pending on the node"
    leg = _leg(uow, found.reference)
    if leg is not None and leg.status == LegStatus.AWAITING:
        leg.status = LegStatus.PENDING
    uow.session.flush()
    return LemanOutcome("pending", leg.order.number if leg else "")


# --- asking the node: no database transaction stays open meanwhile -------------------------------------------


def check_transaction(
    db: Database,
    settings: Settings,
    node: ComChainNode | None,
    tx_hash: str,
    claims: LemanEvent | None = None,
    owns_hint: bool = True,
    now: datetime | None = None,
) -> LemanOutcome:
    """Look a hinted transaction up on the node and act on the answer; queued when the node cannot say."""
    with db.uow() as uow:
        hint = uow.session.scalar(select(LemanTransaction).where(LemanTransaction.tx_hash == tx_hash))
        if hint is None or hint.status == HintStatus.COMPLETED:
            return LemanOutcome("duplicate")
        if hint.status == HintStatus.REFUSED and claims is None:
            return LemanOutcome("refused", reason=hint.last_error)
    try:
        if node is None:
            raise NodeUnavailable("no e-Léman node configured (payments.leman.node_url)")
        found = node.transaction(tx_hash)
        contracts = node.currency_contracts() if found is not None and found.final else frozenset()
    except NodeUnavailable as exc:
        log.warning("e-Léman node: %s; transaction %s will be looked up again", exc, tx_hash)
        with db.uow() as uow:
            postpone(uow, tx_hash, str(exc), now)
            uow.commit()
        return LemanOutcome("queued", reason=str(exc))
    with db.uow() as uow:
        outcome = settle(uow, settings, tx_hash, found, contracts, claims, owns_hint, now)
        uow.commit()
    return outcome


def receive_webhook(
    db: Database, settings: Settings, node: ComChainNode | None, event: LemanEvent, now: datetime | None = None
) -> LemanOutcome:
    """A verified webhook: its hash kept, then checked on the node."""
    _leman(settings)
    with db.uow() as uow:
        owns = record_hint(uow, event, now)
        uow.commit()
    return check_transaction(db, settings, node, event.tx_hash, claims=event, owns_hint=owns, now=now)


def due_hints(uow: UnitOfWork, now: datetime | None = None, limit: int = 50) -> list[str]:
    """Hashes to look up (again) now: never checked, the node away last time, or pending on the node."""
    query = (
        select(LemanTransaction.tx_hash)
        .where(
            LemanTransaction.status.in_([HintStatus.UNVERIFIED, HintStatus.PENDING]),
            LemanTransaction.next_check_at <= (now or utcnow()),
        )
        .order_by(LemanTransaction.next_check_at, LemanTransaction.id)
        .limit(limit)
    )
    return list(uow.session.scalars(query))


def check_due(
    db: Database, settings: Settings, node: ComChainNode | None, now: datetime | None = None
) -> list[LemanOutcome]:
    with db.uow() as uow:
        hashes = due_hints(uow, now)
    return [check_transaction(db, settings, node, tx_hash, now=now) for tx_hash in hashes]


def poll_node(
    db: Database, settings: Settings, node: ComChainNode | None, now: datetime | None = None
) -> list[LemanOutcome]:
    """Ask the node for our wallet's latest transactions (in case a webhook was lost or lied), keep the
    shop's payments among them as hints, then look up every hint that is due."""
    leman = _leman(settings)
    if node is None:
        return []
    try:
        recent = node.recent(leman.wallet.lower())
    except NodeUnavailable as exc:
        log.warning("e-Léman node not reachable for polling: %s", exc)
        recent = []
    with db.uow() as uow:
        for tx in recent:
            if is_tx_hash(tx.tx_hash) and tx.recipient == leman.wallet.lower() and tx.store_id == leman.shop_id:
                record_node_hint(uow, tx.tx_hash, now)
        uow.commit()
    return check_due(db, settings, node, now)
