"""ISO 20022 bank notifications (camt.054, and camt.053 statements): credits matched to QR-bill legs.

Parsing is defused: no DTD, no entities, no network, no huge trees (an XML bomb is refused, not expanded),
and namespace-agnostic, so camt.054.001.04 and .08 (and camt.053) read the same. An import is one
transaction: either every match in the file is applied, or (on any error) none; the same file or the same
bank entry twice changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree
from sqlalchemy import select

from marketplace.db import UnitOfWork
from payments.models import BankImport, LegMethod, LegStatus, PaymentLeg
from payments.references import normalise
from payments.services import confirm_leg

MAX_BYTES = 20 * 1024 * 1024


class BankFileError(Exception):
    """The file is not a readable camt notification."""


@dataclass(frozen=True)
class Credit:
    entry_id: str  # unique per credit: the bank's reference for the entry (and transaction)
    reference: str
    amount: Decimal
    currency: str
    booked: bool = True


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in node if isinstance(child.tag, str) and etree.QName(child).localname == name]


def _find(node: etree._Element, *path: str) -> etree._Element | None:
    current: etree._Element | None = node
    for name in path:
        if current is None:
            return None
        found = _children(current, name)
        current = found[0] if found else None
    return current


def _text(node: etree._Element, *path: str) -> str:
    found = _find(node, *path)
    return (found.text or "").strip() if found is not None else ""


def _amount(node: etree._Element | None) -> tuple[Decimal, str] | None:
    if node is None or not node.text:
        return None
    try:
        return Decimal(node.text.strip()), node.get("Ccy", "")
    except InvalidOperation:
        return None


def parse_camt(data: bytes) -> list[Credit]:
    """Every credit of a camt.054/053 file, one per transaction detail."""
    if len(data) > MAX_BYTES:
        raise BankFileError("file too large")
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise BankFileError("DTDs and entities are not allowed in bank files")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise BankFileError(f"not well-formed XML: {exc}") from exc
    if not etree.QName(root).namespace or "camt.05" not in etree.QName(root).namespace:
        raise BankFileError("not an ISO 20022 camt notification or statement")
    credits: list[Credit] = []
    for entry in root.iter("{*}Ntry"):
        if _text(entry, "CdtDbtInd") != "CRDT":
            continue
        status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
        booked = status in ("BOOK", "")
        entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
        details = [tx for batch in _children(entry, "NtryDtls") for tx in _children(batch, "TxDtls")]
        entry_amount = _amount(_find(entry, "Amt"))
        for index, tx in enumerate(details or [entry]):
            amount = _amount(_find(tx, "AmtDtls", "TxAmt", "Amt")) or _amount(_find(tx, "Amt"))
            if amount is None and len(details) <= 1:
                amount = entry_amount
            if amount is None:
                raise BankFileError(f"entry {entry_ref or '?'} has a credit without an amount")
            reference = _text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref")
            tx_ref = _text(tx, "Refs", "AcctSvcrRef") or f"{entry_ref}/{index}"
            credits.append(Credit(tx_ref, normalise(reference), amount[0], amount[1], booked))
    return credits


@dataclass
class ImportReport:
    already_imported: bool = False
    paid: list[tuple[str, Decimal]] = field(default_factory=list)  # (reference, amount)
    duplicates: list[str] = field(default_factory=list)
    underpaid: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)  # (reference, received, missing)
    overpaid: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)  # (reference, received, extra)
    unknown: list[tuple[str, Decimal]] = field(default_factory=list)
    other_currency: list[tuple[str, Decimal, str]] = field(default_factory=list)
    not_booked: list[str] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return len(self.paid) + len(self.underpaid) + len(self.overpaid)


def import_bank_file(uow: UnitOfWork, data: bytes, filename: str = "") -> ImportReport:
    """Match the file's credits to QR-bill legs and confirm them, all in the caller's transaction.

    Raises BankFileError (nothing applied) for a file that cannot be read."""
    report = ImportReport()
    digest = hashlib.sha256(data).hexdigest()
    if uow.session.scalar(select(BankImport.id).where(BankImport.sha256 == digest)) is not None:
        report.already_imported = True
        return report
    credits = parse_camt(data)
    for credit in credits:
        if not credit.booked:
            report.not_booked.append(credit.entry_id)
            continue
        leg = uow.session.scalar(
            select(PaymentLeg).where(PaymentLeg.reference == credit.reference, PaymentLeg.method == LegMethod.QR_BILL)
        )
        if leg is None or not credit.reference:
            report.unknown.append((credit.reference or credit.entry_id, credit.amount))
            continue
        if credit.currency and credit.currency != leg.currency:
            report.other_currency.append((credit.reference, credit.amount, credit.currency))
            continue
        if leg.status == LegStatus.CANCELLED:
            report.unknown.append((credit.reference, credit.amount))
            continue
        result = confirm_leg(uow, leg, credit.amount, f"bank:{credit.entry_id}")
        if result.outcome == "duplicate":
            report.duplicates.append(credit.reference)
        elif result.outcome == "partial":
            report.underpaid.append((credit.reference, credit.amount, result.missing))
        elif result.outcome == "overpaid":
            report.overpaid.append((credit.reference, credit.amount, result.extra))
        else:
            report.paid.append((credit.reference, credit.amount))
    uow.session.add(BankImport(sha256=digest, filename=filename[:255]))
    uow.session.flush()
    return report
