"""Typed business errors.

Each carries a stable `code` (for programs and logs) and a `message_key` with
parameters (for people: entry points translate it with marketplace.i18n).
"""

from __future__ import annotations

from typing import Any, ClassVar


class MarketplaceError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(f"{self.code} {params}" if params else self.code)

    @property
    def message_key(self) -> str:
        return f"error.{self.code}"


class NotFound(MarketplaceError):
    code = "not_found"


class ProductNotFound(NotFound):
    code = "product_not_found"


class VendorNotFound(NotFound):
    code = "vendor_not_found"


class OrderNotFound(NotFound):
    code = "order_not_found"


class InvalidInput(MarketplaceError):
    code = "invalid_input"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class InvalidPrice(InvalidInput):
    code = "invalid_price"


class ProductUnavailable(MarketplaceError):
    code = "product_unavailable"


class InsufficientStock(MarketplaceError):
    code = "insufficient_stock"


class EmptyBasket(MarketplaceError):
    code = "empty_basket"


class DeliveryNotAvailable(MarketplaceError):
    code = "delivery_not_available"


class IllegalTransition(MarketplaceError):
    code = "illegal_transition"


class PermissionDenied(MarketplaceError):
    code = "permission_denied"


class OrganisationSuspended(PermissionDenied):
    """The organisation a person would act for is suspended by the cooperative (`organisation`: its name)."""

    code = "organisation_suspended"


class OrganisationPending(PermissionDenied):
    """The organisation a person would act for is not approved yet (`organisation`: its name)."""

    code = "organisation_pending"


class AccountSuspended(PermissionDenied):
    """The person's own account is suspended: they act for no organisation."""

    code = "account_suspended"


class MemberNotFound(NotFound):
    """No member (or more than one) of `organisation` answers to `member` (admin register)."""

    code = "member_not_found"


class VendorNotApproved(MarketplaceError):
    code = "vendor_not_approved"


class InvalidLinkCode(MarketplaceError):
    code = "invalid_link_code"


class NotACourier(MarketplaceError):
    code = "not_a_courier"


class NotLinked(MarketplaceError):
    """A vendor command from someone who is not (yet) a member of any vendor."""

    code = "not_linked"


class SlotFull(MarketplaceError):
    """The delivery slot has no place left (or its order cut-off has passed)."""

    code = "slot_full"
