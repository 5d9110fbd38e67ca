"""Custom actions of the SmartketPlace assistant, served by rasa-sdk (`admin_cli.py actions serve`)."""

from dialogues.actions.addresses import (
    ActionDeleteAddress,
    ActionListAddresses,
    ActionNameAddress,
    ActionSharedOutsideCheckout,
)
from dialogues.actions.base import MarketplaceAction
from dialogues.actions.checkout_form import ValidateCheckoutForm
from dialogues.actions.checkout_steps import (
    ActionAskDeliveryAddress,
    ActionAskDeliveryMode,
    ActionAskDeliveryPhone,
    ActionAskOrderConfirmed,
    ActionAskPaymentMethod,
    ActionAskPickupPoint,
    ActionAskRecipientName,
    ActionAskTimeSlot,
    ActionInterruptCheckout,
    ActionSubmitOrder,
)
from dialogues.actions.conversation import ActionChangeLanguage, ActionFallback, ActionSmallTalk
from dialogues.actions.orders import ActionCancelOrder, ActionOrderStatus
from dialogues.actions.privacy import ActionForgetMe, ActionRequestMyData
from dialogues.actions.shopping import (
    ActionAddToBasket,
    ActionClearBasket,
    ActionProductDetails,
    ActionRemoveFromBasket,
    ActionReorder,
    ActionSearchProducts,
    ActionShowBasket,
)
from dialogues.actions.vendor import ActionUpdatePrice, ActionUpdateStock, ActionVendorOrders
from dialogues.actions.vendor_products import (
    ActionVendorEarnings,
    ActionVendorNewProduct,
    ActionVendorTranslateProduct,
    ActionVendorWithdrawProduct,
)

# What a question in the middle of checkout is answered with (see ActionInterruptCheckout).
HANDLERS: dict[str, MarketplaceAction] = {
    "search_product": ActionSearchProducts(),
    "product_details": ActionProductDetails(),
    "show_basket": ActionShowBasket(),
    "add_to_basket": ActionAddToBasket(),
    "remove_from_basket": ActionRemoveFromBasket(),
    "help": ActionSmallTalk(),
    "bot_challenge": ActionSmallTalk(),
    "out_of_scope": ActionSmallTalk(),
    "greet": ActionSmallTalk(),
    "thank": ActionSmallTalk(),
    "list_addresses": ActionListAddresses(),
    "delete_address": ActionDeleteAddress(),
    "name_address": ActionNameAddress(),
    "request_my_data": ActionRequestMyData(),
    "forget_me": ActionForgetMe(),
}

__all__ = [
    "ActionAddToBasket",
    "ActionAskDeliveryAddress",
    "ActionAskDeliveryMode",
    "ActionAskDeliveryPhone",
    "ActionAskOrderConfirmed",
    "ActionAskPaymentMethod",
    "ActionAskPickupPoint",
    "ActionAskRecipientName",
    "ActionAskTimeSlot",
    "ActionCancelOrder",
    "ActionChangeLanguage",
    "ActionClearBasket",
    "ActionDeleteAddress",
    "ActionFallback",
    "ActionForgetMe",
    "ActionInterruptCheckout",
    "ActionListAddresses",
    "ActionNameAddress",
    "ActionOrderStatus",
    "ActionProductDetails",
    "ActionRemoveFromBasket",
    "ActionReorder",
    "ActionRequestMyData",
    "ActionSearchProducts",
    "ActionSharedOutsideCheckout",
    "ActionShowBasket",
    "ActionSmallTalk",
    "ActionSubmitOrder",
    "ActionUpdatePrice",
    "ActionUpdateStock",
    "ActionVendorEarnings",
    "ActionVendorNewProduct",
    "ActionVendorOrders",
    "ActionVendorTranslateProduct",
    "ActionVendorWithdrawProduct",
    "ValidateCheckoutForm",
]
