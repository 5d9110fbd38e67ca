"""Swiss QR-bills for the francs leg of an order: the payment part as SVG, PNG (to show in a chat) and
PDF (to print or pay from e-banking), in the person's language, made with the `qrbill` package."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cairosvg
from qrbill import QRBill

from checkout.models import Order
from marketplace.settings import Settings
from payments.models import PaymentLeg


@dataclass(frozen=True)
class QrBillDocument:
    reference: str
    payload: str  # the text inside the Swiss QR code (Swiss Payment Standards, version 0200)
    svg: bytes
    png: bytes
    pdf: bytes


def make_qr_bill(settings: Settings, order: Order, leg: PaymentLeg, lang: str) -> QrBillDocument:
    assert settings.payments is not None, "payments are not configured for this deployment"
    creditor = settings.payments.creditor
    bill = QRBill(
        account=creditor.iban,
        creditor={  # a structured address (type S), as required from November 2025
            "name": creditor.name,
            "street": creditor.street,
            "house_num": creditor.house_number,
            "pcode": creditor.postal_code,
            "city": creditor.city,
            "country": creditor.country,
        },
        amount=f"{leg.amount:.2f}",
        currency="CHF",
        reference_number=leg.reference,
        additional_information=f"{settings.name} {order.number}"[:140],
        language=lang if lang in ("fr", "de", "it", "en") else "fr",
    )
    text = io.StringIO()
    bill.as_svg(text)
    svg = text.getvalue().encode()
    return QrBillDocument(
        reference=bill.reference_number or "",
        payload=bill.qr_data(),
        svg=svg,
        png=cairosvg.svg2png(bytestring=svg, output_width=1240),
        pdf=cairosvg.svg2pdf(bytestring=svg),
    )
