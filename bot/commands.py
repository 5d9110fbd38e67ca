"""Direct commands for vendors and couriers (`/stock miel 12`, `/runs`...), the same on every platform.

These do not go through Rasa: they are exact instructions from people at work, answered at once from the
core. Every command checks who is asking: a vendor only ever sees and changes its own products and
orders, a courier only its company's runs. Replies are rendered from `locales/` in the person's language.

Synchronous (database work): the asyncio bots call `handle` in a worker thread.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bootstrap import App
from bot.rasa_client import BotMessage, Button
from catalog.services import ProductView, list_products, match_own_product, parse_decimal, set_availability, set_price
from catalog.services import set_stock as set_product_stock
from catalog.taxonomy import format_quantity
from catalog.text import fold
from checkout.runs import courier_company, mark_delivered, mark_picked_up, run_for
from checkout.services import change_status, vendor_orders
from checkout.status import OrderStatus
from marketplace.accounts import Organisation, Person, Role, person_for_chat, remember_reply_to
from marketplace.db import UnitOfWork
from marketplace.errors import MarketplaceError, NotLinked
from marketplace.i18n import error_message, format_chf, format_slot, translate, unit_label
from marketplace.linking import redeem_link_code
from payments.services import cash_due, confirm_on_delivery, payment_state

log = logging.getLogger(__name__)

VENDOR_COMMANDS = ("stock", "price", "available", "unavailable", "products", "ready")
COURIER_COMMANDS = ("runs", "picked", "delivered")
DIRECT = frozenset({"link", *VENDOR_COMMANDS, *COURIER_COMMANDS})
# `/orders` is a vendor command for vendors, and the consumer's order list (through Rasa) for others.
SHARED = frozenset({"orders"})
PENDING = (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.PREPARED)
PAID_WORDS = frozenset({"paid", "paye", "payee", "bezahlt", "pagato", "cash", "ok"})


@dataclass(frozen=True)
class Incoming:
    """What a person wrote, wherever they wrote it."""

    address: str  # "telegram:123", "matrix:@ana:example.org"
    text: str
    language: str = "fr"  # the platform's idea of the person's language
    display_name: str = ""
    reply_to: str = ""  # where to write back when they did not write first (a Matrix room)


def command_of(text: str) -> tuple[str, list[str]] | None:
    """`/stock "miel de foret" 12` -> ("stock", ["miel de foret", "12"]); None when not a command.
    Telegram's `/cmd@BotName` form is accepted."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2 or not stripped[1].isalpha():
        return None
    head, _, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    try:
        args = shlex.split(rest)
    except ValueError:  # an unbalanced quote: take the words as they are
        args = rest.split()
    return name, args


@dataclass
class Context:
    uow: UnitOfWork
    person: Person
    lang: str

    def t(self, key: str, **params: object) -> str:
        return translate(key, self.lang, **params)

    def vendor(self) -> Organisation | None:
        membership = next((m for m in self.person.memberships if m.role == Role.VENDOR_MEMBER), None)
        return membership.organisation if membership else None


class Commands:
    def __init__(self, app: App, today: Callable[[], date] | None = None) -> None:
        self.app = app
        zone = ZoneInfo(app.settings.timezone)
        self._today = today or (lambda: datetime.now(zone).date())

    def is_direct(self, text: str) -> bool:
        parsed = command_of(text)
        return parsed is not None and parsed[0] in DIRECT

    def menu_for(self, address: str) -> tuple[str, tuple[str, ...]]:
        """The person's language and the work commands their memberships give them (none for consumers)."""
        with self.app.db.uow() as uow:
            person = person_for_chat(uow, address)
            roles = {m.role for m in person.memberships}
            lang = person.language
            uow.commit()
        commands: tuple[str, ...] = ()
        if Role.VENDOR_MEMBER in roles:
            commands += ("orders", "products", "stock", "price", "available", "unavailable", "ready")
        if Role.COURIER in roles:
            commands += ("runs", "picked", "delivered")
        return lang, commands

    def is_vendor(self, address: str) -> bool:
        with self.app.db.uow() as uow:
            person = person_for_chat(uow, address)
            uow.commit()
            return any(m.role == Role.VENDOR_MEMBER for m in person.memberships)

    def handle(self, incoming: Incoming) -> list[BotMessage]:
        parsed = command_of(incoming.text)
        assert parsed is not None and parsed[0] in DIRECT | SHARED
        name, args = parsed
        with self.app.db.uow() as uow:
            person = person_for_chat(uow, incoming.address, incoming.language)
            if incoming.reply_to:
                remember_reply_to(uow, incoming.address, incoming.reply_to)
            ctx = Context(uow, person, person.language or incoming.language)
            try:
                replies = getattr(self, f"cmd_{name}")(ctx, args)
                uow.commit()
            except MarketplaceError as error:
                uow.rollback()
                replies = [BotMessage(error_message(error, ctx.lang))]
        return replies

    # --- linking -------------------------------------------------------------------------------

    def cmd_link(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        if not args:
            return [BotMessage(ctx.t("command.link.usage"))]
        membership = redeem_link_code(ctx.uow, ctx.person, "".join(args))
        key = "command.link.courier" if membership.role == Role.COURIER else "command.link.vendor"
        log.info("chat account linked to organisation %s", membership.organisation.slug)
        return [BotMessage(ctx.t(key, organisation=membership.organisation.name))]

    # --- vendors -------------------------------------------------------------------------------

    def _own_vendor(self, ctx: Context) -> Organisation:
        vendor = ctx.vendor()
        if vendor is None:
            raise NotLinked()
        return vendor

    def _product(
        self, ctx: Context, vendor: Organisation, query: str, command: str, tail: str
    ) -> ProductView | list[BotMessage]:
        """The vendor's own product `query` names, or a reply asking which one (with buttons)."""
        match = match_own_product(ctx.uow, vendor.slug, query, ctx.lang)
        if match.exact is not None:
            return match.exact
        if not match.candidates:
            return [BotMessage(ctx.t("command.product_unknown", product=query))]
        buttons = tuple(Button(f"{p.name} ({p.sku})", f"/{command} {p.sku} {tail}".strip()) for p in match.candidates)
        return [BotMessage(ctx.t("command.product_which", product=query), buttons)]

    def _product_and_value(
        self, ctx: Context, args: list[str], command: str
    ) -> tuple[ProductView | list[BotMessage], str]:
        vendor = self._own_vendor(ctx)
        # "/price miel CHF 9.50", "/price miel 9.50 fr.": currency words are not part of the name.
        words = [a for a in args if a.upper().strip(".") not in ("CHF", "FR", "SFR")]
        if len(words) < 2:
            raise Usage(command)
        query, value = " ".join(words[:-1]), words[-1]
        return self._product(ctx, vendor, query, command, value), value

    def cmd_stock(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        product, value = self._product_and_value(ctx, args, "stock")
        if isinstance(product, list):
            return product
        updated = set_product_stock(ctx.uow, ctx.person, product.id, parse_decimal(value, "quantity"))
        return [
            BotMessage(
                ctx.t(
                    "command.stock.done",
                    product=product.name,
                    stock=format_quantity(updated.stock),
                    unit=unit_label(updated.unit, ctx.lang),
                )
            )
        ]

    def cmd_price(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        product, value = self._product_and_value(ctx, args, "price")
        if isinstance(product, list):
            return product
        amount = parse_decimal(value.upper().removeprefix("CHF").removesuffix("CHF"), "price")
        updated = set_price(ctx.uow, ctx.person, product.id, amount)
        price = format_chf(updated.price_chf, ctx.lang)
        return [
            BotMessage(
                ctx.t("command.price.done", product=product.name, price=price, unit=unit_label(updated.unit, ctx.lang))
            )
        ]

    def _availability(self, ctx: Context, args: list[str], available: bool) -> list[BotMessage]:
        command = "available" if available else "unavailable"
        vendor = self._own_vendor(ctx)
        if not args:
            raise Usage(command)
        product = self._product(ctx, vendor, " ".join(args), command, "")
        if isinstance(product, list):
            return product
        set_availability(ctx.uow, ctx.person, product.id, available)
        return [BotMessage(ctx.t(f"command.{command}.done", product=product.name))]

    def cmd_available(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        return self._availability(ctx, args, True)

    def cmd_unavailable(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        return self._availability(ctx, args, False)

    def cmd_products(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        vendor = self._own_vendor(ctx)
        products = list_products(ctx.uow, ctx.lang, vendor.slug)
        if not products:
            return [BotMessage(ctx.t("command.products.none"))]
        lines = [ctx.t("command.products.title", vendor=vendor.name)]
        for p in products:
            key = "command.products.line" if p.available else "command.products.line_off"
            lines.append(
                ctx.t(
                    key,
                    sku=p.sku,
                    name=p.name,
                    price=format_chf(p.price.amount, ctx.lang),
                    unit=unit_label(p.unit, ctx.lang),
                    stock=format_quantity(p.stock),
                )
            )
        return [BotMessage("\n".join(lines))]

    def cmd_orders(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        vendor = self._own_vendor(ctx)
        parts = [v for v in vendor_orders(ctx.uow, ctx.person, vendor.slug) if OrderStatus(v.status) in PENDING]
        if not parts:
            return [BotMessage(ctx.t("command.orders.none"))]
        lines = [ctx.t("command.orders.title", vendor=vendor.name)]
        buttons: list[Button] = []
        for part in parts[:20]:
            order = part.order
            items = ", ".join(
                f"{format_quantity(line.quantity)} {unit_label(line.unit, ctx.lang)} {line.name}" for line in part.lines
            )
            payment = payment_state(ctx.uow, order).state
            lines.append(
                ctx.t(
                    "command.orders.line",
                    order=order.number,
                    status=ctx.t(f"status.{part.status}")
                    + ("" if payment == "paid" else f", {ctx.t(f'payment.state.{payment}')}"),
                    items=items,
                    total=format_chf(part.goods_total, ctx.lang),
                    when=format_slot(order.time_slot, ctx.lang),
                )
            )
            if OrderStatus(part.status) is not OrderStatus.PREPARED:
                buttons.append(
                    Button(ctx.t("command.orders.ready_button", order=order.number), f"/ready {order.number}")
                )
        return [BotMessage("\n".join(lines), tuple(buttons))]

    def cmd_ready(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        vendor = self._own_vendor(ctx)
        if not args:
            raise Usage("ready")
        order = change_status(ctx.uow, ctx.person, args[0], OrderStatus.PREPARED, vendor_slug=vendor.slug)
        return [BotMessage(ctx.t("command.ready.done", order=order.number))]

    # --- couriers ------------------------------------------------------------------------------

    def cmd_runs(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        company = courier_company(ctx.person)
        day = self._today()
        if args:
            try:
                day = date.fromisoformat(args[0])
            except ValueError as exc:
                raise Usage("runs") from exc
        run = run_for(ctx.uow, company, day)
        if not run.stops:
            return [BotMessage(ctx.t("command.runs.none", day=day.isoformat()))]
        lines = [ctx.t("command.runs.title", company=run.company, day=day.isoformat())]
        buttons: list[Button] = []
        for number, stop in enumerate(run.stops, 1):
            items = ", ".join(
                f"{format_quantity(i.quantity)} {unit_label(i.unit, ctx.lang)} {i.name}" for i in stop.items
            )
            mark = "✓ " if stop.done else ""
            key = "command.runs.pickup" if stop.kind == "pickup" else "command.runs.drop"
            lines.append(
                f"{number}. {mark}" + ctx.t(key, order=stop.order, slot=stop.slot, where=stop.where, items=items)
            )
            if stop.collect:
                lines.append("   " + ctx.t("command.runs.collect", amount=format_chf(stop.collect, ctx.lang)))
            if not stop.done:
                command = "picked" if stop.kind == "pickup" else "delivered"
                title = ctx.t(f"command.runs.{command}_button", order=stop.order)
                button = Button(title, f"/{command} {stop.order}")
                if button not in buttons:
                    buttons.append(button)
        return [BotMessage("\n".join(lines), tuple(buttons[:12]))]

    def cmd_picked(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        if not args:
            raise Usage("picked")
        order = mark_picked_up(ctx.uow, ctx.person, args[0])
        return [BotMessage(ctx.t("command.picked.done", order=order.number))]

    def cmd_delivered(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        if not args:
            raise Usage("delivered")
        order = mark_delivered(ctx.uow, ctx.person, args[0])
        replies = [BotMessage(ctx.t("command.delivered.done", order=order.number))]
        if any(fold(word) in PAID_WORDS for word in args[1:]):
            confirmed = confirm_on_delivery(ctx.uow, ctx.person, order)
            if confirmed is not None:
                collected, rounding = cash_due(order)
                replies.append(
                    BotMessage(
                        ctx.t(
                            "command.delivered.paid",
                            order=order.number,
                            amount=format_chf(collected, ctx.lang),
                            rounding=format_chf(rounding, ctx.lang),
                        )
                    )
                )
        return replies


class Usage(MarketplaceError):
    """A command without what it needs: answered with how to use it."""

    code = "usage"

    def __init__(self, command: str) -> None:
        super().__init__(command=command)

    @property
    def message_key(self) -> str:
        return f"command.{self.params['command']}.usage"
