"""Custom actions of the SmartketPlace assistant, served by rasa-sdk (`admin_cli.py actions serve`)."""

from dialogues.actions.base import MarketplaceAction
from dialogues.actions.checkout_form import ValidateCheckoutForm
from dialogues.actions.checkout_steps import (
    ActionAskDeliveryMode,
    ActionAskOrderConfirmed,
    ActionAskPaymentMethod,
    ActionAskPostalCode,
    ActionAskTimeSlot,
    ActionInterruptCheckout,
    ActionSubmitOrder,
)
from dialogues.actions.conversation import ActionChangeLanguage, ActionFallback, ActionSmallTalk
from dialogues.actions.orders import ActionCancelOrder, ActionOrderStatus
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
}

__all__ = [
    "ActionAddToBasket",
    "ActionAskDeliveryMode",
    "ActionAskOrderConfirmed",
    "ActionAskPaymentMethod",
    "ActionAskPostalCode",
    "ActionAskTimeSlot",
    "ActionCancelOrder",
    "ActionChangeLanguage",
    "ActionClearBasket",
    "ActionFallback",
    "ActionInterruptCheckout",
    "ActionOrderStatus",
    "ActionProductDetails",
    "ActionRemoveFromBasket",
    "ActionReorder",
    "ActionSearchProducts",
    "ActionShowBasket",
    "ActionSmallTalk",
    "ActionSubmitOrder",
    "ActionUpdatePrice",
    "ActionUpdateStock",
    "ActionVendorOrders",
    "ValidateCheckoutForm",
]
