"""Direct commands for vendors and couriers (`/stock miel 12`, `/runs`...), the same on every platform.

These do not go through Rasa: they are exact instructions from people at work, answered at once by the
core (`work/vendors.py`, `work/couriers.py`, `checkout/runs.py`), which checks who is asking: a vendor
only ever sees and changes its own products and orders, a courier only its company's runs, and nobody acts
for a suspended organisation (the refusal names it and says whom to contact). This module
only parses the command and renders the answer from `locales/` in the person's language.

Everyone's data rights are direct commands too (`privacy/`): `/mydata` sends the person the JSON file of
everything held about them, `/forget` erases their account once they confirm. They run here, in the bot
process, and not in a Rasa action, because Rasa stores the current turn only after its action returns: an
erasure run inside the turn would leave that turn behind. The words for them (« oubliez-moi ») are understood
by Rasa, whose actions only ask the router to run the same command (`BotMessage.command`).

Synchronous (database work): the asyncio bots call `handle` in a worker thread.
"""

from __future__ import annotations

import logging
import secrets
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from bootstrap import App
from bot.rasa_client import BotMessage, Button
from bot.sharing import map_pin
from bot.team_commands import TEAM_COMMANDS, TeamCommands
from catalog.services import ProductView, parse_decimal
from catalog.text import fold
from checkout.drops import DropAddress
from checkout.earnings import (
    courier_earnings,
    courier_earnings_text,
    parse_month,
    vendor_earnings,
    vendor_earnings_text,
)
from checkout.runs import Stop, courier_company, mark_picked_up
from marketplace.accounts import Person, Role, person_for_chat, remember_reply_to, roles_of
from marketplace.clock import utcnow
from marketplace.db import UnitOfWork
from marketplace.errors import InvalidInput, MarketplaceError
from marketplace.i18n import (
    error_message,
    format_chf,
    format_number,
    format_slot,
    resolve_language,
    translate,
    unit_label,
)
from marketplace.linking import redeem_link_code
from marketplace.media import private_folder
from marketplace.settings import Settings
from privacy.erase import OpenOrders, erase_person, erasure_message
from privacy.erase import open_orders as orders_under_way
from privacy.export import export_file
from privacy.notice import duration
from work.couriers import courier_run, report_delivered
from work.vendors import (
    mark_ready,
    match_own_product,
    open_orders,
    own_products,
    set_availability,
    set_price,
    set_stock,
    vendor_of,
)

log = logging.getLogger(__name__)

VENDOR_COMMANDS = ("stock", "price", "available", "unavailable", "products", "ready")
COURIER_COMMANDS = ("runs", "picked", "delivered")
MAX_PINS = 10  # map pins after /runs (one message each): the next drops, not a flood
PRIVACY_COMMANDS = ("mydata", "forget")  # anyone's, whatever their roles
EARNINGS_COMMANDS = ("earnings",)  # a vendor's sales and payout, or a delivery company's runs and fees
DIRECT = frozenset(
    {"link", *VENDOR_COMMANDS, *COURIER_COMMANDS, *PRIVACY_COMMANDS, *EARNINGS_COMMANDS, *TEAM_COMMANDS}
)
# `/orders` is a vendor command for vendors, and the consumer's order list (through Rasa) for others.
SHARED = frozenset({"orders"})
PAID_WORDS = frozenset({"paid", "paye", "payee", "bezahlt", "pagato", "cash", "ok"})
CURRENCY_WORDS = frozenset({"CHF", "FR", "SFR"})  # "/price miel CHF 9.50", "/price miel 9.50 fr."
# The answers to /forget's question, its buttons: "yes" carries the one-time code the question was asked with,
# so that neither a typed "/forget yes" nor a forged button erases anyone without the question.
ERASE_YES, ERASE_NO = "/forget yes", "/forget no"
QUESTION_TTL = timedelta(minutes=10)  # how long /forget's question may be answered
EXPORT_KEEP = 600.0  # seconds a /mydata file stays on the server: long enough to be sent (or opened, in the demo)
# A typed answer to /forget's question, and only to it (bot.router): folded whole messages, any language.
YES_WORDS = frozenset({"oui", "ouais", "yes", "yep", "ja", "jawohl", "si", "certo"})
NO_WORDS = frozenset({"non", "no", "nope", "nein", "annuler", "cancel", "abbrechen", "annulla"})


def export_folder(settings: Settings) -> Path:
    """Where /mydata files wait to be sent: beside the payments folder, readable by the bot process only."""
    return settings.data_dir / "exports"


def erasure_answer(text: str) -> str | None:
    """ERASE_YES's or ERASE_NO's word for a typed answer to /forget's question (« oui », "no", the buttons' own
    titles); None for anything else, which is no answer."""
    said = " ".join(fold(text).split())
    for answer, words, key in (("yes", YES_WORDS, "privacy.forget.yes"), ("no", NO_WORDS, "privacy.forget.no")):
        titles = {" ".join(fold(translate(key, lang)).split()) for lang in ("fr", "de", "it", "en")}
        if said in words or said in titles:
            return answer
    return None


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
    address: str = ""  # the chat address the command came from

    def t(self, key: str, **params: object) -> str:
        return translate(key, self.lang, **params)

    def unit(self, unit: str) -> str:
        return unit_label(unit, self.lang)

    def chf(self, amount: Decimal) -> str:
        return format_chf(amount, self.lang)

    def number(self, value: Decimal) -> str:
        return format_number(value, self.lang)


class Commands(TeamCommands):
    def __init__(
        self,
        app: App,
        today: Callable[[], date] | None = None,
        now: Callable[[], datetime] | None = None,
        *,
        exports: Path | None = None,
        export_keep: float = EXPORT_KEEP,
    ) -> None:
        self.app = app
        zone = ZoneInfo(app.settings.timezone)
        self._today = today or (lambda: datetime.now(zone).date())
        self._now = now or utcnow  # when a drop's address stops being shown (delivered + grace)
        self.exports = exports or export_folder(app.settings)
        self.export_keep = export_keep
        # /forget's open questions and the /mydata files not yet deleted, per chat address (worker threads).
        self._lock = threading.Lock()
        self._questions: dict[str, tuple[str, datetime]] = {}
        self._exports: dict[str, list[Path]] = {}

    def menu_for(self, address: str, language: str | None = None) -> tuple[str, tuple[str, ...]]:
        """The person's language and the work commands their memberships give them now (none for consumers,
        nor while they or their organisation are suspended)."""
        with self.app.db.uow() as uow:
            person = person_for_chat(uow, address, language)  # `language`: the platform's, for a newcomer
            roles = roles_of(person)
            owner = any(m.is_owner and m.organisation.is_approved for m in person.memberships)
            lang = resolve_language(self.app.settings.languages, chosen=person.language, platform=language)
            uow.commit()
        commands: tuple[str, ...] = ()
        if Role.VENDOR_MEMBER in roles:
            commands += ("orders", "products", "stock", "price", "available", "unavailable", "ready", "earnings")
        if Role.COURIER in roles:
            commands += ("runs", "picked", "delivered", *(() if "earnings" in commands else ("earnings",)))
        if owner and (Role.VENDOR_MEMBER in roles or Role.COURIER in roles):
            commands += ("invite", "members")  # an owner's team (bot/team_commands.py)
        return lang, commands

    def is_vendor(self, address: str) -> bool:
        """Whether `/orders` means the vendor's orders: for any vendor member, so that a suspended vendor's member
        is told why they cannot see them rather than shown their own purchases."""
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
            # The person's stored language is the one their conversation settled on (the action server
            # keeps a language chosen in the chat there), so it counts as chosen here.
            lang = resolve_language(self.app.settings.languages, chosen=person.language, platform=incoming.language)
            ctx = Context(uow, person, lang, incoming.address)
            try:
                if name in VENDOR_COMMANDS or name in SHARED:
                    vendor_of(person)  # people who are no vendor's member are told how to link, whatever they asked
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

    @staticmethod
    def _product(ctx: Context, query: str, command: str, tail: str) -> ProductView | list[BotMessage]:
        """The vendor's own product `query` names, or a reply asking which one (its buttons resend the SKU)."""
        match = match_own_product(ctx.uow, ctx.person, query, ctx.lang)
        if match.exact is not None:
            return match.exact
        if not match.candidates:
            return [BotMessage(ctx.t("vendor.product_unknown", product=query))]
        buttons = tuple(Button(f"{p.name} ({p.sku})", f"/{command} {p.sku} {tail}".strip()) for p in match.candidates)
        return [BotMessage(ctx.t("vendor.product_which", product=query), buttons)]

    def _product_and_value(
        self, ctx: Context, args: list[str], command: str
    ) -> tuple[ProductView | list[BotMessage], str]:
        """`/stock miel de foret 12`: the product named by all words but the last, and that last word."""
        words = [a for a in args if a.upper().strip(".") not in CURRENCY_WORDS]
        if len(words) < 2:
            raise Usage(command)
        query, value = " ".join(words[:-1]), words[-1]
        return self._product(ctx, query, command, value), value

    def cmd_stock(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        product, value = self._product_and_value(ctx, args, "stock")
        if isinstance(product, list):
            return product
        stock = ctx.number(set_stock(ctx.uow, ctx.person, product.id, parse_decimal(value, "quantity")))
        return [BotMessage(ctx.t("vendor.stock_set", product=product.name, stock=stock, unit=ctx.unit(product.unit)))]

    def cmd_price(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        product, value = self._product_and_value(ctx, args, "price")
        if isinstance(product, list):
            return product
        amount = parse_decimal(value.upper().removeprefix("CHF").removesuffix("CHF"), "price")
        old, new = ctx.chf(product.price.amount), ctx.chf(set_price(ctx.uow, ctx.person, product.id, amount))
        return [
            BotMessage(ctx.t("vendor.price_set", product=product.name, old=old, new=new, unit=ctx.unit(product.unit)))
        ]

    def _availability(self, ctx: Context, args: list[str], available: bool) -> list[BotMessage]:
        command = "available" if available else "unavailable"
        if not args:
            raise Usage(command)
        product = self._product(ctx, " ".join(args), command, "")
        if isinstance(product, list):
            return product
        set_availability(ctx.uow, ctx.person, product.id, available)
        return [BotMessage(ctx.t(f"command.{command}.done", product=product.name))]

    def cmd_available(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        return self._availability(ctx, args, True)

    def cmd_unavailable(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        return self._availability(ctx, args, False)

    def cmd_products(self, ctx: Context, _args: list[str]) -> list[BotMessage]:
        products = own_products(ctx.uow, ctx.person, ctx.lang)
        if not products:
            return [BotMessage(ctx.t("command.products.none"))]
        lines = [ctx.t("command.products.title", vendor=vendor_of(ctx.person).name)]
        for p in products:
            key = "command.products.line" if p.available else "command.products.line_off"
            price, stock = ctx.chf(p.price.amount), ctx.number(p.stock)
            lines.append(ctx.t(key, sku=p.sku, name=p.name, price=price, unit=ctx.unit(p.unit), stock=stock))
        return [BotMessage("\n".join(lines))]

    def cmd_orders(self, ctx: Context, _args: list[str]) -> list[BotMessage]:
        work = open_orders(ctx.uow, ctx.person)
        if not work.orders:
            return [BotMessage(ctx.t("vendor.orders.none"))]
        lines = [ctx.t("vendor.orders.title", vendor=work.vendor_name, count=work.count)]
        buttons: list[Button] = []
        for order in work.orders:
            status = ctx.t(f"status.{order.status}")
            if order.payment != "paid":
                status += ", " + ctx.t(f"payment.state.{order.payment}")
            items = ", ".join(f"{ctx.number(i.quantity)} {ctx.unit(i.unit)} {i.name}" for i in order.items)
            when, total = format_slot(order.slot, ctx.lang), ctx.chf(order.goods_total)
            line = ctx.t("vendor.orders.line", order=order.number, status=status, when=when, items=items, total=total)
            if order.recipient:  # the first name only: a vendor never sees where the customer lives
                line += " · " + ctx.t("vendor.recipient", name=order.recipient)
            lines.append(line)
            if order.can_be_marked_ready:
                title = ctx.t("command.orders.ready_button", order=order.number)
                buttons.append(Button(title, f"/ready {order.number}"))
        if work.count > len(work.orders):
            lines.append(ctx.t("vendor.orders.more", count=work.count - len(work.orders)))
        return [BotMessage("\n".join(lines), tuple(buttons))]

    def cmd_ready(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        if not args:
            raise Usage("ready")
        return [BotMessage(ctx.t("command.ready.done", order=mark_ready(ctx.uow, ctx.person, args[0])))]

    def cmd_earnings(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        """`/earnings [YYYY-MM]`: a vendor's month (sales, commission, delivery fees, payout, in CHF and the local
        currency), or, for a courier who sells nothing, their company's runs and fees."""
        settings = self.app.settings
        try:
            month = parse_month(args[0]) if args else self._today().replace(day=1)
        except InvalidInput as exc:
            raise Usage("earnings") from exc
        roles = roles_of(ctx.person)
        if Role.COURIER in roles and Role.VENDOR_MEMBER not in roles:
            runs = courier_earnings(ctx.uow, ctx.person, month, settings.timezone)
            return [BotMessage(courier_earnings_text(runs, ctx.lang))]
        earned = vendor_earnings(ctx.uow, ctx.person, month, settings.timezone, settings.platform_commission_pct)
        return [BotMessage(vendor_earnings_text(earned, ctx.lang, settings.local_currency.name))]

    # --- couriers ------------------------------------------------------------------------------

    @staticmethod
    def _drop_lines(ctx: Context, address: DropAddress) -> list[str]:
        """Under a drop, one line each: who, street, details, a tap-to-call link and a map link (plain text:
        chat apps make links of them; the adapters escape the text)."""
        if not address.shown:
            return []
        lines = [ctx.t("command.runs.recipient", name=address.recipient)] if address.recipient else []
        lines.append(ctx.t("command.runs.street", street=address.street))
        if address.details:
            lines.append(ctx.t("command.runs.details", details=address.details))
        if address.tel:
            lines.append(ctx.t("command.runs.phone", link=address.tel))
        lines.append(ctx.t("command.runs.map", link=address.map))
        return ["   " + line for line in lines]

    def cmd_runs(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        courier_company(ctx.person)  # who is no courier is told so, whatever they asked
        day = self._today()
        if args:
            try:
                day = date.fromisoformat(args[0])
            except ValueError as exc:
                raise Usage("runs") from exc
        run = courier_run(ctx.uow, ctx.person, day, self.app.settings.delivery, now=self._now())
        if not run.stops:
            return [BotMessage(ctx.t("command.runs.none", day=day.isoformat()))]
        lines = [ctx.t("command.runs.title", company=run.company, day=day.isoformat())]
        buttons: list[Button] = []
        pins: list[BotMessage] = []
        for number, stop in enumerate(run.stops, 1):
            items = ", ".join(f"{ctx.number(i.quantity)} {ctx.unit(i.unit)} {i.name}" for i in stop.items)
            mark = "✓ " if stop.done else ""
            key = "command.runs.pickup" if stop.kind == "pickup" else "command.runs.drop"
            block = self._drop_lines(ctx, stop.address) if stop.address else []
            if block:
                lines.append("")  # a drop with its address is a block of its own: easier to read on a phone
            lines.append(
                f"{number}. {mark}" + ctx.t(key, order=stop.order, slot=stop.slot, where=stop.where, items=items)
            )
            lines.extend(block)
            if stop.collect:
                lines.append("   " + ctx.t("command.runs.collect", amount=ctx.chf(stop.collect)))
            if not stop.done:
                command = "picked" if stop.kind == "pickup" else "delivered"
                title = ctx.t(f"command.runs.{command}_button", order=stop.order)
                button = Button(title, f"/{command} {stop.order}")
                if button not in buttons:
                    buttons.append(button)
            if pin := self._drop_pin(ctx, number, stop):
                pins.append(pin)
        return [BotMessage("\n".join(lines), tuple(buttons[:12])), *pins[:MAX_PINS]]

    @staticmethod
    def _drop_pin(ctx: Context, number: int, stop: Stop) -> BotMessage | None:
        """A drop still to do whose customer shared where they are, as a map pin the courier's app can navigate
        to (Telegram's location message); the run only holds coordinates the courier may see now."""
        address = stop.address
        if stop.kind != "drop" or stop.done or address is None or not address.shown:
            return None
        pin = map_pin(address.latitude, address.longitude)
        if pin is None:
            return None
        text = ctx.t("command.runs.location", number=number, order=stop.order, street=address.street)
        return BotMessage(text, location=pin)

    def cmd_picked(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        if not args:
            raise Usage("picked")
        order = mark_picked_up(ctx.uow, ctx.person, args[0])
        return [BotMessage(ctx.t("command.picked.done", order=order.number))]

    def cmd_delivered(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        """`/delivered GE-7K3Q9M` or `/delivered GE-7K3Q9M payé`: delivered, and paid on delivery."""
        if not args:
            raise Usage("delivered")
        paid = any(fold(word).strip() in PAID_WORDS for word in args[1:])
        delivery = report_delivered(ctx.uow, ctx.person, args[0], paid=paid)
        replies = [BotMessage(ctx.t("command.delivered.done", order=delivery.order))]
        if delivery.collected is not None:
            amount, rounding = ctx.chf(delivery.collected), ctx.chf(delivery.rounding)
            replies.append(
                BotMessage(ctx.t("command.delivered.paid", order=delivery.order, amount=amount, rounding=rounding))
            )
        return replies

    # --- everyone's data rights ----------------------------------------------------------------

    def cmd_mydata(self, ctx: Context, _args: list[str]) -> list[BotMessage]:
        """Everything held about the person, as a JSON file sent as a document, then deleted from the server."""
        self.sweep_exports()
        path = export_file(ctx.uow, ctx.person, private_folder(self.exports), self._now())
        with self._lock:
            self._exports.setdefault(ctx.address, []).append(path)
        timer = threading.Timer(self.export_keep, self._discard, (ctx.address, path))
        timer.daemon = True
        timer.start()
        log.info("personal data export written for a %s person", ctx.address.partition(":")[0])
        return [BotMessage(ctx.t("privacy.mydata.sent"), document=str(path))]

    def cmd_forget(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        """`/forget`: the question, with its buttons; `/forget yes CODE` (its button): the erasure; `/forget no`."""
        answer = args[0].lower() if args else ""
        if answer == "no":
            self._answered(ctx.address, None)
            return [BotMessage(ctx.t("privacy.forget.cancelled"))]
        if answer == "yes":
            if not self._answered(ctx.address, args[1] if len(args) > 1 else ""):
                return [BotMessage(ctx.t("privacy.forget.expired"))]
            accounting = self.app.settings.privacy.accounting_years
            report = erase_person(ctx.uow, ctx.person, self._now(), accounting_years=accounting)
            self._discard_all(ctx.address)
            return [BotMessage(erasure_message(report, ctx.lang))]
        still_open = orders_under_way(ctx.uow, ctx.person)
        if still_open:  # said now rather than after the confirmation
            raise OpenOrders([order.number for order in still_open])
        years = duration(self.app.settings.privacy.accounting_years, "years", ctx.lang)
        lines = [ctx.t("privacy.forget.question", years=years)]
        organisations = sorted({m.organisation.name for m in ctx.person.memberships})
        if organisations:
            lines.append(ctx.t("privacy.forget.question.organisations", organisations=", ".join(organisations)))
        buttons = (
            Button(ctx.t("privacy.forget.yes"), f"{ERASE_YES} {self._ask(ctx.address)}"),
            Button(ctx.t("privacy.forget.no"), ERASE_NO),
        )
        return [BotMessage("\n\n".join(lines), buttons)]

    def _ask(self, address: str) -> str:
        """A new one-time code for the person's question (the one before it no longer counts)."""
        code = secrets.token_urlsafe(9)
        with self._lock:
            now = self._now()
            for other, (_, asked) in list(self._questions.items()):  # bounded: questions nobody answered go
                if now - asked > QUESTION_TTL:
                    del self._questions[other]
            self._questions[address] = (code, now)
        return code

    def _answered(self, address: str, code: str | None) -> bool:
        """Close the person's question; whether `code` is the one it was asked with, in time."""
        with self._lock:
            asked = self._questions.pop(address, None)
        if asked is None or code is None:
            return False
        expected, at = asked
        same = code.isascii() and secrets.compare_digest(code.encode(), expected.encode())  # typed junk: no match
        return same and self._now() - at <= QUESTION_TTL

    def _discard(self, address: str, path: Path) -> None:
        with self._lock:
            files = self._exports.get(address, [])
            if path in files:
                files.remove(path)
            if not files:
                self._exports.pop(address, None)
        path.unlink(missing_ok=True)

    def _discard_all(self, address: str) -> None:
        """An erased person's export files still waiting on the server go at once."""
        with self._lock:
            files = self._exports.pop(address, [])
        for path in files:
            path.unlink(missing_ok=True)

    def sweep_exports(self) -> int:
        """Delete /mydata files older than `export_keep` (left by a stopped process); how many."""
        if not self.exports.is_dir():
            return 0
        cut = time.time() - self.export_keep
        old = [f for f in self.exports.iterdir() if f.is_file() and not f.is_symlink() and f.stat().st_mtime < cut]
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)


class Usage(MarketplaceError):
    """A command without what it needs: answered with how to use it."""

    code = "usage"

    def __init__(self, command: str) -> None:
        super().__init__(command=command)

    @property
    def message_key(self) -> str:
        return f"command.{self.params['command']}.usage"
