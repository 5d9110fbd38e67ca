"""The privacy notice: what is stored, why, for how long, and how to get a copy or erase it, in plain words.

Short at `/start`, whole at `/privacy`. Every delay it quotes is read from the deployment's settings, the same
numbers `privacy.retention` enforces ([privacy], and [delivery] address_grace_hours for what the courier sees),
so the notice and the code cannot disagree. The wording lives in `locales/` (keys `privacy.notice.*`).
"""

from __future__ import annotations

from marketplace.i18n import translate
from marketplace.settings import Settings

# The paragraphs of the whole notice, in the order they are read.
SECTIONS = (
    "privacy.notice.intro",
    "privacy.notice.account",
    "privacy.notice.addresses",
    "privacy.notice.basket",
    "privacy.notice.conversation",
    "privacy.notice.orders",
    "privacy.notice.order_address",
    "privacy.notice.payment_files",
    "privacy.notice.link_codes",
    "privacy.notice.who_sees",
    "privacy.notice.rights",
)


def duration(count: int, unit: str, lang: str) -> str:
    """ "30 jours", "1 year", "12 Stunden": `unit` is days, hours or years. French counts 0 as singular."""
    singular = count == 1 or (count == 0 and lang == "fr")
    return translate(f"privacy.duration.{unit}.{'one' if singular else 'other'}", lang, count=count)


def delays(settings: Settings, lang: str) -> dict[str, str]:
    """Every delay the notice quotes, written out in `lang`, under the names its texts use."""
    p = settings.privacy
    return {
        "basket": duration(p.abandoned_basket_days, "days", lang),
        "conversation": duration(p.conversation_days, "days", lang),
        "link_codes": duration(p.expired_link_code_days, "days", lang),
        "address": duration(p.delivered_address_days, "days", lang),
        "grace": duration(settings.delivery.address_grace_hours, "hours", lang),
        "payment_files": duration(p.payment_file_days, "days", lang),
        "accounting": duration(p.accounting_years, "years", lang),
    }


def start_notice(settings: Settings, lang: str) -> str:
    """The welcome said at `/start`: what is kept in one sentence, and the commands to learn more, get a copy,
    or erase it."""
    return translate("privacy.notice.short", lang, marketplace=settings.name, **delays(settings, lang))


def full_notice(settings: Settings, lang: str) -> str:
    """The whole notice (`/privacy`): each kind of data, why it is kept and for how long, who sees it, and the
    person's rights. Payment files are named only where the deployment takes payments ([payments])."""
    values = {"marketplace": settings.name, "local_currency": settings.local_currency.name, **delays(settings, lang)}
    sections = [key for key in SECTIONS if settings.payments is not None or key != "privacy.notice.payment_files"]
    title = translate("privacy.notice.title", lang, **values)
    return "\n\n".join([title, *(translate(key, lang, **values) for key in sections)])
