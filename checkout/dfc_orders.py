"""A vendor's orders as DFC JSON-LD (`Order` made of `OrderLine`s), so that a producer who keeps its books or
prepares its deliveries in another DFC tool can import what was ordered here.

Only the vendor's own part of each order is written (its VendorOrder, never the other vendors' lines) and nothing
about the customer: the order number, date, statuses, and each line's product, quantity, unit price and VAT. The
consumer's name and address stay with us (the courier gets them through the run sheet, not through an export).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from catalog.feeds.dfc import CHF, enterprise_id
from catalog.feeds.jsonld import DFC_CONTEXT_URL
from catalog.taxonomy import format_quantity
from checkout.models import VendorOrder
from checkout.status import OrderStatus
from marketplace.accounts import Person, ensure_may_act_for, get_organisation
from marketplace.db import UnitOfWork
from payments.services import payment_state

log = logging.getLogger(__name__)

S = OrderStatus
CLOSED = {S.CANCELLED, S.REFUNDED}
# Our statuses -> the DFC vocabulary's order and fulfilment states (dfc-v: OrderState, FulfilmentState).
FULFILMENT = {S.DELIVERED: "dfc-v:Fulfilled", S.CANCELLED: "dfc-v:Cancelled", S.REFUNDED: "dfc-v:Cancelled"}


def export_vendor_orders(
    uow: UnitOfWork,
    vendor_slug: str,
    base_url: str,
    *,
    actor: Person | None = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> dict[str, Any]:
    """The vendor's orders (oldest first; only those in `statuses` when given) as one DFC JSON-LD document.

    `actor`: the person asking, who must be an approved member of that vendor or an admin (PermissionDenied
    otherwise); None only for the admin command line, whose user is the operator. VendorNotFound for an unknown
    slug."""
    vendor = get_organisation(uow, vendor_slug)
    if actor is not None:
        ensure_may_act_for(actor, vendor.id)
    query = select(VendorOrder).where(VendorOrder.vendor_id == vendor.id).order_by(VendorOrder.id)
    if statuses is not None:
        query = query.where(VendorOrder.status.in_([OrderStatus(s).value for s in statuses]))
    seller = enterprise_id(base_url, vendor.slug)
    graph: list[dict[str, Any]] = [{"@id": seller, "@type": "dfc-b:Enterprise", "dfc-b:name": vendor.name}]
    count = 0
    for part in uow.session.scalars(query):
        graph += _order(uow, part, seller)
        count += 1
    log.info("DFC order export: vendor %s, %s orders", vendor.slug, count)
    return {"@context": DFC_CONTEXT_URL, "@graph": graph}


def _order(uow: UnitOfWork, part: VendorOrder, seller: str) -> list[dict[str, Any]]:
    order = part.order
    status = OrderStatus(part.status)
    order_id = f"{seller}/orders/{quote(order.number, safe='')}"
    lines = [
        {
            "@id": f"{order_id}/lines/{index}",
            "@type": "dfc-b:OrderLine",
            "dfc-b:description": line.name if line.unit == "piece" else f"{line.name}, {line.unit}",
            "dfc-b:quantity": format_quantity(line.quantity),
            "dfc-b:hasPrice": {
                "@type": "dfc-b:Price",
                "dfc-b:value": f"{line.unit_price:.2f}",
                "dfc-b:VATrate": format_quantity(line.vat_rate),
                "dfc-b:hasUnit": CHF,
            },
            "dfc-b:concerns": f"{seller}/offers/{quote(line.sku, safe='')}",
            "dfc-b:partOf": order_id,
        }
        for index, line in enumerate(part.lines, start=1)
    ]
    if status in CLOSED:
        paid = "dfc-v:Cancelled"
    else:
        paid = "dfc-v:Paid" if payment_state(uow, order).state == "paid" else "dfc-v:Unpaid"
    return [
        {
            "@id": order_id,
            "@type": "dfc-b:Order",
            "dfc-b:orderNumber": order.number,
            "dfc-b:date": order.created_at.isoformat(),
            "dfc-b:soldBy": seller,
            "dfc-b:hasPart": [line["@id"] for line in lines],
            "dfc-b:hasOrderStatus": "dfc-v:Cancelled" if status in CLOSED else "dfc-v:Complete",
            "dfc-b:hasFulfilmentStatus": FULFILMENT.get(status, "dfc-v:Unfulfilled"),
            "dfc-b:hasPaymentStatus": paid,
        },
        *lines,
    ]
