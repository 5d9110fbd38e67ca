"""The held-out shopper corpus (`shopper_corpus/{fr,de,it,en}.yml`) through the real Rasa server, action server and
demo catalog: each request in a fresh conversation, one message, then the basket read from the database must be
exactly the one expected (right products, right quantities, nothing asked instead). Prints the share carried out
exactly per language and overall, writes the same as JSON, and fails below a floor so a regression shows."""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from ruamel.yaml import YAML  # already installed with rasa-sdk

from demo import DEMO_DIR
from marketplace.accounts import split_chat_address
from tests.e2e.conftest import Stack
from tests.support.shop import basket_lines

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).parent / "shopper_corpus"
LANGUAGES = ("fr", "de", "it", "en")
# Just below the share measured with the Step 6 actions (model smartket-b478d85acb52f968: 97.0 % overall; fr 97.8 %,
# de 93.9 %, it 99.2 %, en 97.0 %; before them 41.3 %), so a regression fails. SHOPPER_CORPUS_FLOOR overrides it (a
# fraction: 0.6).
DEFAULT_FLOOR = 0.96
# Issue 10's target, reported beside the measure but not asserted yet.
TARGET_OVERALL, TARGET_PER_LANGUAGE = 0.95, 0.90
FAILURES_SHOWN = 10

Basket = dict[str, Decimal]


@dataclass(frozen=True)
class ShopperRequest:
    say: str
    basket: Basket
    is_list: bool


@dataclass(frozen=True)
class Outcome:
    request: ShopperRequest
    got: Basket
    reply: str

    @property
    def exact(self) -> bool:
        return self.got == self.request.basket


def load_corpus(lang: str) -> list[ShopperRequest] | None:
    """The requests of one language, or None when its file is not there (yet)."""
    path = CORPUS / f"{lang}.yml"
    if not path.exists():
        return None
    data = YAML(typ="safe").load(path)
    return [
        ShopperRequest(
            say=item["say"],
            basket={sku: Decimal(str(quantity)) for sku, quantity in item["basket"].items()},
            is_list=bool(item.get("list", False)),
        )
        for item in data["requests"]
    ]


def basket_of(stack: Stack, sender: str) -> Basket:
    """SKU -> quantity in the sender's basket, as the database holds it."""
    _, external_id = split_chat_address(sender)
    basket: Basket = defaultdict(Decimal)
    for sku, quantity in basket_lines(stack.db, external_id):
        basket[sku] += quantity
    return dict(basket)


def carry_out(stack: Stack, lang: str, request: ShopperRequest) -> Outcome:
    """One request as a new customer's first message."""
    sender = stack.new_sender()
    try:
        messages = stack.rasa.send(sender, request.say, {"language": lang})
        reply = "\n".join(m.text for m in messages if m.text)
    except OSError as error:  # a turn that times out counts as not carried out; the others still run
        reply = f"(no answer: {error})"
    return Outcome(request, basket_of(stack, sender), reply)


def shown(basket: Basket) -> str:
    return ", ".join(f"{sku} {format(quantity.normalize(), 'f')}" for sku, quantity in sorted(basket.items())) or "-"


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def summarise(outcomes: dict[str, list[Outcome]], missing: list[str], floor: float) -> dict:
    """The figures and the first failures of each language, as printed and as written to JSON."""
    languages = {}
    for lang, results in outcomes.items():
        lists = [o for o in results if o.request.is_list]
        exact, lists_exact = sum(o.exact for o in results), sum(o.exact for o in lists)
        languages[lang] = {
            "requests": len(results), "exact": exact, "share": share(exact, len(results)),
            "lists": len(lists), "lists_exact": lists_exact, "lists_share": share(lists_exact, len(lists)),
            "failures": [
                {"said": o.request.say, "expected": shown(o.request.basket), "got": shown(o.got),
                 "reply": (o.reply.splitlines() or [""])[0]}
                for o in results if not o.exact
            ],
        }  # fmt: skip
    total = sum(f["requests"] for f in languages.values())
    exact = sum(f["exact"] for f in languages.values())
    lists = sum(f["lists"] for f in languages.values())
    lists_exact = sum(f["lists_exact"] for f in languages.values())
    return {
        "languages": languages, "missing": missing,
        "overall": {"requests": total, "exact": exact, "share": share(exact, total),
                    "lists": lists, "lists_exact": lists_exact, "lists_share": share(lists_exact, lists)},
        "floor": floor, "target": {"overall": TARGET_OVERALL, "per_language": TARGET_PER_LANGUAGE},
    }  # fmt: skip


def report(summary: dict) -> str:
    """The table and the first failures, for the terminal."""

    def row(name: str, f: dict) -> str:
        lists = f"{f['lists_exact']}/{f['lists']}"
        return f"{name:<9}{f['requests']:>9}{f['exact']:>9}{f['share']:>9.1%}{lists:>10}{f['lists_share']:>9.1%}"

    lines = [
        "",
        "Held-out shopper corpus through the real stack: requests carried out exactly",
        f"{'language':<9}{'requests':>9}{'exact':>9}{'share':>9}{'lists':>10}{'lists %':>9}",
    ]
    lines += [row(lang, figures) for lang, figures in summary["languages"].items()]
    lines.append(row("overall", summary["overall"]))
    lines.append(
        f"floor asserted: {summary['floor']:.1%} overall; target (not asserted yet): "
        f"{TARGET_OVERALL:.0%} overall, {TARGET_PER_LANGUAGE:.0%} per language"
    )
    if summary["missing"]:
        lines.append(f"skipped, no corpus file yet: {', '.join(summary['missing'])}")
    for lang, figures in summary["languages"].items():
        failures = figures["failures"]
        if not failures:
            continue
        lines.append(f"first failures ({lang}, {len(failures)} in all):")
        for failure in failures[:FAILURES_SHOWN]:
            said = failure["said"].replace("\n", " / ")
            lines.append(f"  « {said} »  expected {failure['expected']}  got {failure['got']}")
            lines.append(f"      bot: {failure['reply']}")
    return "\n".join(lines)


def test_shopper_corpus_asks_for_demo_products_within_stock() -> None:
    """Needs no server: every expected basket is one the demo catalog can fill, lists have 2 to 4 products."""
    with (DEMO_DIR / "products.csv").open(encoding="utf-8") as file:
        products = {row["sku"]: row for row in csv.DictReader(file)}
    wrong = []
    for lang in LANGUAGES:
        for request in load_corpus(lang) or []:
            if request.is_list != (len(request.basket) > 1) or len(request.basket) > 4:
                wrong.append(f"{lang} « {request.say} »: a list has 2 to 4 products, a single request one")
            for sku, quantity in request.basket.items():
                product = products.get(sku)
                if product is None:
                    wrong.append(f"{lang} « {request.say} »: no product {sku}")
                elif not 0 < quantity <= Decimal(product["stock"]):
                    wrong.append(f"{lang} « {request.say} »: {quantity} {sku}, stock {product['stock']}")
                elif quantity != quantity.to_integral_value() and product["unit"] not in ("kg", "l"):
                    wrong.append(f"{lang} « {request.say} »: {quantity} {sku}, sold by whole {product['unit']}")
    assert wrong == []


def test_shopper_corpus_is_carried_out_exactly(stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    corpora = {lang: load_corpus(lang) for lang in LANGUAGES}
    missing = [lang for lang, requests in corpora.items() if requests is None]
    if len(missing) == len(LANGUAGES):
        pytest.skip(f"no shopper corpus in {CORPUS}")
    floor = float(os.environ.get("SHOPPER_CORPUS_FLOOR", DEFAULT_FLOOR))

    outcomes = {
        lang: [carry_out(stack, lang, request) for request in requests]
        for lang, requests in corpora.items()
        if requests is not None
    }
    summary = summarise(outcomes, missing, floor)
    (tmp_path / "shopper_corpus.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    with capsys.disabled():
        print(report(summary))
        print(f"(written to {tmp_path / 'shopper_corpus.json'})")

    assert summary["overall"]["share"] >= floor, (
        f"{summary['overall']['share']:.1%} of the shopper corpus carried out exactly, below the floor {floor:.1%}"
    )
