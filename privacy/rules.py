"""What anonymising an order clears, one home for the erasure (privacy.erase) and the purge (privacy.retention)."""

from __future__ import annotations

from sqlalchemy import and_

from checkout.models import Order
from payments.models import HintStatus, LemanTransaction, PaymentCredit, RefundStatus

# What of an order's delivery address is personal; its postal code and locality are not cleared.
ADDRESS_COLUMNS = (
    Order.delivery_recipient,
    Order.delivery_street,
    Order.delivery_details,
    Order.delivery_phone,
    Order.delivery_latitude,
    Order.delivery_longitude,
)

# A payer's account stays while money is to be given back to it; an e-Léman sender while its hint is still
# being checked on the node.
PAYER_FORGETTABLE = and_(PaymentCredit.payer != "", PaymentCredit.refund_status != RefundStatus.DUE)
SENDER_FORGETTABLE = and_(
    LemanTransaction.sender != "", LemanTransaction.status.in_((HintStatus.COMPLETED, HintStatus.REFUSED))
)
