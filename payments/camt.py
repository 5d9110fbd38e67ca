"""ISO 20022 bank notifications (camt.054, and camt.053 statements): credits matched to QR-bill legs.

Parsing is defused: no DTD, no entities, no network, no huge trees (an XML bomb is refused, not expanded),
and namespace-agnostic, so camt.054.001.04 and .08 (and camt.053) read the same. An import is one
transaction: either every match in the file is applied, or (on any error) none. Every credit is recorded
once under a stable id (`credit_key`), so the same file twice, or a credit in a camt.054 notice and again
in the camt.053 statement, counts once; two different credits without any bank reference both count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree
from sqlalchemy import select

from marketplace.db import UnitOfWork
from marketplace.settings import Settings
from payments.models import BankImport, CreditSource, LegMethod, PaymentLeg, RefundReason
from payments.references import normalise
from payments.services import IncomingCredit, record_credit

MAX_BYTES = 20 * 1024 * 1024
CENT = Decimal("0.01")


class BankFileError(Exception):
    """The file is not a readable camt notification."""


@dataclass(frozen=True)
class Credit:
    entry_id: str  # stable per credit, whichever file carries it: see `credit_key`
    reference: str
    amount: Decimal
    currency: str
    booked: bool = True
    debtor_iban: str = ""
    booked_on: str = ""


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


def _date(node: etree._Element, name: str) -> str:
    return (_text(node, name, "Dt") or _text(node, name, "DtTm"))[:10]


def credit_key(entry: etree._Element, tx: etree._Element, index: int, single: bool, content: str) -> str:
    """The stable id of one credit: the account servicer's reference (of the transaction, or of an entry
    holding only this one), else the entry reference, else a hash of what the credit says (amount, currency,
    dates, reference, debtor's IBAN, the payer's own ids). A camt.054 notice and the camt.053 statement that
    repeats it give the same id."""
    if reference := _text(tx, "Refs", "AcctSvcrRef") or (_text(entry, "AcctSvcrRef") if single else ""):
        return f"ref:{reference}"
    if entry_ref := _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef"):
        return f"entry:{entry_ref}" if single else f"entry:{entry_ref}/{index}"
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


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
    seen: dict[str, int] = {}  # content hashes met in this file: two identical credits are two credits
    for entry in root.iter("{*}Ntry"):
        if _text(entry, "CdtDbtInd") != "CRDT":
            continue
        status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
        booked = status in ("BOOK", "")
        details = [tx for batch in _children(entry, "NtryDtls") for tx in _children(batch, "TxDtls")]
        entry_amount = _amount(_find(entry, "Amt"))
        booked_on, value_on = _date(entry, "BookgDt"), _date(entry, "ValDt")
        for index, tx in enumerate(details or [entry]):
            amount = _amount(_find(tx, "AmtDtls", "TxAmt", "Amt")) or _amount(_find(tx, "Amt"))
            if amount is None and len(details) <= 1:
                amount = entry_amount
            if amount is None or amount[0] <= 0 or amount[0] != amount[0].quantize(CENT):
                raise BankFileError(f"entry {_text(entry, 'NtryRef') or '?'} has a credit without a valid amount")
            reference = normalise(_text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref"))
            iban = _text(tx, "RltdPties", "DbtrAcct", "Id", "IBAN").replace(" ", "").upper()
            content = "|".join([
                f"{amount[0]:.2f}", amount[1], booked_on, value_on, reference, iban,
                _text(tx, "Refs", "EndToEndId"), _text(tx, "Refs", "InstrId"), _text(tx, "Refs", "TxId"),
            ])  # fmt: skip
            key = credit_key(entry, tx, index, len(details) <= 1, content)
            if key.startswith("sha256:"):
                seen[key] = seen.get(key, 0) + 1
                key = f"{key}#{seen[key]}"
            credits.append(Credit(key, reference, amount[0], amount[1], booked, iban, booked_on))
    return credits


@dataclass
class ImportReport:
    already_imported: bool = False
    paid: list[tuple[str, Decimal]] = field(default_factory=list)  # (reference, amount)
    duplicates: list[str] = field(default_factory=list)
    underpaid: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)  # (reference, received, missing)
    overpaid: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)  # (reference, received, extra)
    unknown: list[tuple[str, Decimal]] = field(default_factory=list)
    # Credits none of which can pay their leg: (reference, amount, currency, RefundReason).
    refunds: list[tuple[str, Decimal, str, str]] = field(default_factory=list)
    not_booked: list[str] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return len(self.paid) + len(self.underpaid) + len(self.overpaid)


def import_bank_file(
    uow: UnitOfWork, data: bytes, filename: str = "", settings: Settings | None = None
) -> ImportReport:
    """Record the file's credits (each once, whatever file repeats it) and match them to QR-bill legs, all in
    the caller's transaction.

    Raises BankFileError (nothing applied) for a file that cannot be read."""
    report = ImportReport()
    digest = hashlib.sha256(data).hexdigest()
    if uow.session.scalar(select(BankImport.id).where(BankImport.sha256 == digest)) is not None:
        report.already_imported = True
        return report
    for credit in parse_camt(data):
        if not credit.booked:
            report.not_booked.append(credit.entry_id)
            continue
        leg = uow.session.scalar(
            select(PaymentLeg).where(PaymentLeg.reference == credit.reference, PaymentLeg.method == LegMethod.QR_BILL)
        ) if credit.reference else None  # fmt: skip
        incoming = IncomingCredit(
            CreditSource.BANK, credit.entry_id, credit.reference, credit.amount, credit.currency,
            payer=credit.debtor_iban, booked_on=credit.booked_on,
        )  # fmt: skip
        result = record_credit(uow, leg, incoming, settings=settings)
        shown = credit.reference or credit.entry_id
        if result.outcome == "duplicate":
            report.duplicates.append(shown)
        elif result.reason == RefundReason.UNKNOWN_REFERENCE:
            report.unknown.append((shown, credit.amount))
        elif result.outcome == "refund":
            report.refunds.append((shown, credit.amount, credit.currency, result.reason))
        elif result.outcome == "partial":
            report.underpaid.append((shown, credit.amount, result.missing))
        elif result.outcome == "overpaid":
            report.overpaid.append((shown, credit.amount, result.extra))
        else:
            report.paid.append((shown, credit.amount))
    uow.session.add(BankImport(sha256=digest, filename=filename[:255]))
    uow.session.flush()
    return report
