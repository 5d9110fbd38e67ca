"""Typed deployment settings, read from one TOML file per deployment (see config/)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog.taxonomy import Taxonomy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "geneva.toml"
CONFIG_ENV = "SMARTKET_CONFIG"
# The demo deployment (`make demo`, `make chat` set it): the terminal chat and its `terminal:` chat ids exist
# only there, and missing shared secrets are created on the fly. Anywhere else is production.
DEMO_ENV = "SMARTKET_DEMO"
SUPPORTED_LANGUAGES = ("fr", "de", "it", "en")


class SettingsError(ValueError):
    """The deployment file is missing or wrong; the message says where."""


@dataclass(frozen=True)
class LocalCurrency:
    name: str
    code: str
    rate_to_chf: Decimal
    default_share_pct: int


@dataclass(frozen=True)
class PostalZone:
    """Inclusive range of Swiss postal codes served by home delivery."""

    first: int
    last: int

    def __contains__(self, code: int) -> bool:
        return self.first <= code <= self.last


@dataclass(frozen=True)
class DeliverySettings:
    zones: tuple[PostalZone, ...]
    fee_chf: Decimal
    free_from_chf: Decimal | None
    pickup: bool
    time_windows: tuple[str, ...] = ("08:00-10:00", "12:00-14:00", "17:00-19:00")
    days_ahead: int = 3
    # How long after a drop is done its courier still sees the full address and phone (then: postal code only).
    address_grace_hours: int = 12

    def serves(self, postal_code: str) -> bool:
        code = postal_code.strip()
        return code.isdigit() and len(code) == 4 and any(int(code) in zone for zone in self.zones)

    def fee_for(self, goods_total: Decimal) -> Decimal:
        if self.free_from_chf is not None and goods_total >= self.free_from_chf:
            return Decimal("0.00")
        return self.fee_chf


@dataclass(frozen=True)
class Creditor:
    """Who receives the francs: the cooperative's account, with a structured address (QR-bill rules)."""

    name: str
    street: str
    house_number: str
    postal_code: str
    city: str
    country: str
    iban: str


@dataclass(frozen=True)
class LemanSettings:
    """The shop on the e-Léman (Com'Chain) network; the node's public key checks its webhooks."""

    server_name: str
    shop_id: str
    wallet: str
    node_url: str
    public_key_file: Path | None


MONEY_FLOWS = ("order", "vendor_order")


@dataclass(frozen=True)
class PaymentSettings:
    creditor: Creditor
    leman: LemanSettings | None
    # "order": one francs leg and one Léman leg per order. "vendor_order": one of each per vendor order (and
    # one for the delivery fee), so each vendor's part counts as paid as soon as its own money is in.
    money_flow: str = "order"
    deadline_hours: int = 48


@dataclass(frozen=True)
class PrivacySettings:
    """How long personal data is kept ([privacy]). `privacy.retention` enforces these delays and
    `privacy.notice` quotes them to people, so what the code does and what people are told cannot differ."""

    abandoned_basket_days: int = 30  # a basket nobody touched for this long is deleted
    conversation_days: int = 90  # Rasa tracker events (what people wrote to the assistant)
    expired_link_code_days: int = 7  # link codes, counted from their expiry
    # An order keeps its delivery address (street, details, phone, coordinates, recipient) this long after it
    # was delivered or cancelled; then only its postal code and locality. The courier sees it for less:
    # [delivery] address_grace_hours.
    delivered_address_days: int = 30
    payment_file_days: int = 180  # QR-bills and e-Léman QR codes in data_dir/payments
    # Orders are accounting records (Swiss Code of Obligations art. 958f: 10 years from the end of the
    # financial year, taken as the calendar year); after that their last personal links are removed.
    accounting_years: int = 10
    purge_every_hours: int = 6  # how often the bot process runs the purge


# The least each [privacy] key may be: less would break the law (accounting), or make no sense.
PRIVACY_MINIMUM = {
    "abandoned_basket_days": 1,
    "conversation_days": 1,
    "expired_link_code_days": 0,
    "delivered_address_days": 1,
    "payment_file_days": 1,
    "accounting_years": 10,
    "purge_every_hours": 1,
}


@dataclass(frozen=True)
class Settings:
    name: str
    slug: str
    languages: tuple[str, ...]
    timezone: str
    data_dir: Path
    order_prefix: str
    currency: str
    local_currency: LocalCurrency
    vat_rates: dict[str, Decimal]
    delivery: DeliverySettings
    platform_commission_pct: Decimal
    config_path: Path
    database_url_override: str | None = None
    payments: PaymentSettings | None = None
    demo: bool = False  # SMARTKET_DEMO=1: the demo deployment (see DEMO_ENV)
    media_folder: Path | None = None  # [marketplace] media_dir; None: <data_dir>/media
    privacy: PrivacySettings = PrivacySettings()
    # Categories, labels, synonyms and unit words: the shipped base with this deployment's [taxonomy] section.
    taxonomy: Taxonomy = field(default_factory=lambda: _taxonomy({}, Path("-")))

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def media_dir(self) -> Path:
        """Where local catalog photos live: the only local files a catalog row may name."""
        return self.media_folder or self.data_dir / "media"

    @property
    def database_url(self) -> str:
        """DATABASE_URL when set, otherwise the embedded SQLite file in the data directory."""
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite:///{self.data_dir / 'marketplace.sqlite3'}"


def _decimal(value: object, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise SettingsError(f"{where}: {value!r} is not a number") from exc


def _zones(raw: list[str], where: str) -> tuple[PostalZone, ...]:
    zones = []
    for item in raw:
        first, _, last = str(item).partition("-")
        if not first.strip().isdigit() or (last and not last.strip().isdigit()):
            raise SettingsError(f"{where}: {item!r} is not a postal code or range like '1200-1234'")
        zones.append(PostalZone(int(first), int(last or first)))
    return tuple(zones)


def _payments(raw: dict, config_path: Path) -> PaymentSettings | None:
    from schwifty import IBAN  # imported here: it loads its bank registry, only needed with payments
    from schwifty.exceptions import SchwiftyException

    section = raw.get("payments")
    if not section:
        return None
    creditor = section["creditor"]
    try:
        iban = IBAN(creditor["iban"])
    except SchwiftyException as exc:
        raise SettingsError(f"{config_path}: payments.creditor.iban is not a valid IBAN: {exc}") from exc
    if iban.country_code not in ("CH", "LI"):
        raise SettingsError(f"{config_path}: a QR-bill needs a Swiss or Liechtenstein IBAN, got {iban.country_code}")
    leman = section.get("leman")
    key = leman.get("public_key_file", "") if leman else ""
    flow = section.get("money_flow", "order")
    if flow not in MONEY_FLOWS:
        raise SettingsError(f"{config_path}: payments.money_flow {flow!r} must be one of {', '.join(MONEY_FLOWS)}")
    return PaymentSettings(
        creditor=Creditor(
            name=creditor["name"],
            street=creditor["street"],
            house_number=str(creditor.get("house_number", "")),
            postal_code=str(creditor["postal_code"]),
            city=creditor["city"],
            country=creditor.get("country", "CH"),
            iban=iban.compact,
        ),
        leman=LemanSettings(
            server_name=leman.get("server_name", "Monnaie-Leman"),
            shop_id=str(leman["shop_id"]),
            wallet=str(leman["wallet"]).lower(),
            node_url=leman.get("node_url", ""),
            public_key_file=(config_path.parent / key).resolve() if key else None,
        )
        if leman
        else None,
        money_flow=flow,
        deadline_hours=int(section.get("deadline_hours", 48)),
    )


def _privacy(raw: dict, config_path: Path) -> PrivacySettings:
    """The [privacy] delays: whole numbers, none below its minimum, no unknown key (a misspelt key would
    silently keep data for the default time)."""
    section = raw.get("privacy", {})
    if not isinstance(section, dict):
        raise SettingsError(f"{config_path}: privacy must be a section ([privacy]), got {section!r}")
    unknown = sorted(set(section) - set(PRIVACY_MINIMUM))
    if unknown:
        raise SettingsError(f"{config_path}: unknown setting privacy.{unknown[0]}; known: {', '.join(PRIVACY_MINIMUM)}")
    values = {}
    for key, minimum in PRIVACY_MINIMUM.items():
        value = section.get(key, getattr(PrivacySettings, key))
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{config_path}: privacy.{key} must be a whole number, got {value!r}")
        if value < minimum:
            why = " (accounting records are kept 10 years, CO art. 958f)" if key == "accounting_years" else ""
            raise SettingsError(f"{config_path}: privacy.{key} must be at least {minimum}, got {value}{why}")
        values[key] = value
    return PrivacySettings(**values)


def _taxonomy(raw: dict, config_path: Path) -> Taxonomy:
    """The [taxonomy] section merged over the shipped base (catalog/data): a region's words without code."""
    from catalog.taxonomy import TaxonomyError, load_taxonomy  # plain data; imported here to keep settings light

    section = raw.get("taxonomy", {})
    if not isinstance(section, dict):
        raise SettingsError(f"{config_path}: taxonomy must be a section ([taxonomy]), got {section!r}")
    try:
        return load_taxonomy(section)
    except TaxonomyError as exc:
        raise SettingsError(f"{config_path}: {exc}") from exc


def _check_address_days(settings: Settings) -> None:
    """An order may not drop its address before its courier stops seeing it: the courier reads it there."""
    days, hours = settings.privacy.delivered_address_days, settings.delivery.address_grace_hours
    if days * 24 < hours:
        raise SettingsError(
            f"{settings.config_path}: privacy.delivered_address_days ({days} days) must cover "
            f"delivery.address_grace_hours ({hours} hours): the courier reads the address from the order"
        )


def is_demo(env: Mapping[str, str]) -> bool:
    return env.get(DEMO_ENV, "").strip().lower() in ("1", "true", "yes")


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the deployment file: `path`, else $SMARTKET_CONFIG, else Geneva."""
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"deployment file not found: {config_path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{config_path}: {exc}") from exc

    try:
        market = raw["marketplace"]
        languages = tuple(market["languages"])
        unknown = [lang for lang in languages if lang not in SUPPORTED_LANGUAGES]
        if not languages or unknown:
            raise SettingsError(f"{config_path}: languages must be among {SUPPORTED_LANGUAGES}, got {unknown}")
        local = raw["local_currency"]
        delivery = raw["delivery"]
        share = int(local.get("default_share_pct", 0))
        if not 0 <= share <= 100:
            raise SettingsError(f"{config_path}: local_currency.default_share_pct must be 0-100")
        free_from = str(delivery.get("free_from_chf", "")).strip()
        data_dir = Path(env.get("SMARTKET_DATA_DIR") or config_path.parent / market["data_dir"]).resolve()
        settings = Settings(
            name=market["name"],
            slug=market["slug"],
            languages=languages,
            timezone=market.get("timezone", "Europe/Zurich"),
            data_dir=data_dir,
            order_prefix=market.get("order_prefix", market["slug"][:2].upper()),
            currency=raw.get("currency", {}).get("code", "CHF"),
            local_currency=LocalCurrency(
                name=local["name"],
                code=local["code"],
                rate_to_chf=_decimal(local.get("rate_to_chf", "1"), "local_currency.rate_to_chf"),
                default_share_pct=share,
            ),
            vat_rates={k: _decimal(v, f"vat.{k}") for k, v in raw["vat"].items()},
            delivery=DeliverySettings(
                zones=_zones(delivery.get("postal_codes", []), "delivery.postal_codes"),
                fee_chf=_decimal(delivery.get("fee_chf", "0"), "delivery.fee_chf"),
                free_from_chf=_decimal(free_from, "delivery.free_from_chf") if free_from else None,
                pickup=bool(delivery.get("pickup", True)),
                time_windows=tuple(delivery.get("time_windows", DeliverySettings.time_windows)),
                days_ahead=int(delivery.get("days_ahead", DeliverySettings.days_ahead)),
                address_grace_hours=int(delivery.get("address_grace_hours", DeliverySettings.address_grace_hours)),
            ),
            platform_commission_pct=_decimal(raw["commission"]["platform_pct"], "commission.platform_pct"),
            config_path=config_path,
            database_url_override=env.get("DATABASE_URL") or None,
            payments=_payments(raw, config_path),
            media_folder=(config_path.parent / market["media_dir"]).resolve() if market.get("media_dir") else None,
            demo=is_demo(env),
            privacy=_privacy(raw, config_path),
            taxonomy=_taxonomy(raw, config_path),
        )
        _check_address_days(settings)
        return settings
    except KeyError as exc:
        raise SettingsError(f"{config_path}: missing setting {exc}") from exc
