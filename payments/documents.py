"""What a customer is handed to pay an order: a Swiss QR-bill (image and PDF) per francs leg, an e-Léman QR
code per Léman leg, or the amount to have ready for the courier. The files go to `data_dir/payments`,
which the bot process reads to send them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from checkout.models import Order
from marketplace.media import private_folder, write_private
from marketplace.settings import Settings
from payments.models import LegMethod, PaymentLeg
from payments.services import cash_due


@dataclass(frozen=True)
class PaymentDocument:
    kind: LegMethod  # QR_BILL: image and PDF; LEMAN: image; ON_DELIVERY: no file, the cash to have ready
    amount: Decimal  # on delivery: the total rounded to 5 centimes, as the courier collects it
    currency: str
    reference: str  # what the bank or the wallet sends back with the money
    image: Path | None = None
    pdf: Path | None = None
    # Whom it pays when each vendor is paid on its own (money_flow "vendor_order"): a vendor's name, or the
    # delivery fee alone. Neither when one payment covers the whole order.
    vendor_name: str | None = None
    pays_delivery_fee: bool = False


def payment_folder(settings: Settings) -> Path:
    return settings.data_dir / "payments"


def write_payment_documents(
    settings: Settings, order: Order, legs: list[PaymentLeg], lang: str
) -> tuple[PaymentDocument, ...]:
    """Write the files that pay `legs` and describe them. An e-Léman leg gets a QR code only when the
    deployment has an e-Léman shop."""
    folder = payment_folder(settings)
    private_folder(folder)  # 0700, files 0600: a QR-bill names the customer and their order
    per_part = any(leg.vendor_order_id is not None for leg in legs)
    vendors = {part.id: part.vendor.name for part in order.vendor_orders}
    documents = []
    for leg in legs:
        named = per_part and leg.method != LegMethod.ON_DELIVERY
        vendor = vendors[leg.vendor_order_id] if named and leg.vendor_order_id is not None else None
        fee_only = named and leg.vendor_order_id is None
        stem = f"{order.number}-{leg.id}"
        if leg.method == LegMethod.QR_BILL:
            from payments.qr_bill import make_qr_bill  # cairosvg takes a third of a second to import

            bill = make_qr_bill(settings, order, leg, lang)
            png, pdf = folder / f"{stem}-qr-bill.png", folder / f"{stem}-qr-bill.pdf"
            write_private(png, bill.png)
            write_private(pdf, bill.pdf)
            documents.append(
                PaymentDocument(leg.method, leg.amount, leg.currency, bill.reference, png, pdf, vendor, fee_only)
            )
        elif leg.method == LegMethod.LEMAN and settings.payments is not None and settings.payments.leman:
            from payments.leman import payment_request, qr_png

            png = folder / f"{stem}-leman.png"
            write_private(png, qr_png(payment_request(settings, order, leg)))
            documents.append(
                PaymentDocument(leg.method, leg.amount, leg.currency, leg.reference, png, None, vendor, fee_only)
            )
        elif leg.method == LegMethod.ON_DELIVERY:
            documents.append(PaymentDocument(leg.method, cash_due(order)[0], leg.currency, leg.reference))
    return tuple(documents)
