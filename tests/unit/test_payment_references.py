"""Payment references and the francs/Léman split: check digits, and splits that always add up."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from marketplace.money import round_cash
from payments.references import (
    creditor_reference,
    is_valid_creditor_reference,
    is_valid_qrr,
    mod10_recursive,
    qrr_reference,
)
from payments.split import VendorShare, split


def test_known_references() -> None:
    # Published examples: SIX's QR reference and ISO 11649's creditor reference.
    assert is_valid_qrr("210000000003139471430009017")
    assert mod10_recursive("21000000000313947143000901") == 7
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert is_valid_creditor_reference("RF18 5390 0754 7034")


@given(st.integers(min_value=0, max_value=10**26 - 1))
def test_every_qrr_reference_checks_and_any_single_digit_change_is_caught(payload: int) -> None:
    reference = qrr_reference(payload)
    assert len(reference) == 27 and is_valid_qrr(reference)
    for position in range(27):
        digit = int(reference[position])
        typo = reference[:position] + str((digit + 1) % 10) + reference[position + 1 :]
        assert not is_valid_qrr(typo)


@given(st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ0123456789", min_size=1, max_size=21))
def test_every_creditor_reference_checks_and_a_swap_is_caught(payload: str) -> None:
    reference = creditor_reference(payload)
    assert is_valid_creditor_reference(reference)
    body = reference[4:]
    # ISO 7064 mod 97-10 catches every swap of two different adjacent digits (a letter counts as two
    # digits, so "3X" and "X3" both read 333: those are not caught, by design of the standard).
    if len(body) >= 2 and body[0] != body[1] and body[:2].isdigit():
        assert not is_valid_creditor_reference(reference[:4] + body[1] + body[0] + body[2:])


money = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("2000"), places=2)


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[VendorShare], Decimal, Decimal | None]:
    parts = []
    for index in range(draw(st.integers(1, 5))):
        total = draw(money)
        share = draw(st.integers(0, 100))
        parts.append(VendorShare(index + 1, total, (total * share / 100).quantize(Decimal("0.01"), "ROUND_DOWN")))
    fee = draw(st.sampled_from([Decimal("0.00"), Decimal("7.00")]))
    wanted = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal("5000"), places=2)))
    return parts, fee, wanted


def _shares(*parts: tuple[str, str]) -> list[VendorShare]:
    return [VendorShare(n + 1, Decimal(total), Decimal(cap)) for n, (total, cap) in enumerate(parts)]


@given(orders())
@example((_shares(("0.01", "0.01")), Decimal("0.00"), None))  # a single centime, all in Léman
@example((_shares(("0.01", "0.01")), Decimal("7.00"), Decimal("0.00")))  # all francs
@example((_shares(("10.00", "5.00"), ("10.00", "5.00"), ("10.00", "5.00")), Decimal("0.00"), Decimal("0.01")))
@example((_shares(("10.00", "5.00"), ("3.33", "1.66"), ("20.00", "0.00")), Decimal("7.00"), Decimal("6.65")))
@example((_shares(*[("2000.00", "2000.00")] * 5), Decimal("7.00"), Decimal("5000.00")))  # the largest: capped
def test_a_split_adds_up_to_the_centime_and_respects_each_vendors_share(case) -> None:  # type: ignore[no-untyped-def]
    parts, fee, wanted = case
    legs = split(parts, fee, wanted)
    total = sum((p.goods_total for p in parts), Decimal(0)) + fee
    assert sum((leg.chf + leg.leman for leg in legs), Decimal(0)) == total
    caps = {p.vendor_order_id: p.leman_cap for p in parts}
    for leg in legs:
        assert leg.chf >= 0 and leg.leman >= 0 and leg.leman == leg.leman.quantize(Decimal("0.01"))
        assert leg.leman <= caps.get(leg.vendor_order_id, Decimal(0))
    leman = sum((leg.leman for leg in legs), Decimal(0))
    cap = sum(caps.values(), Decimal(0))
    assert leman == (cap if wanted is None else min(wanted, cap))


@given(st.decimals(min_value=0, max_value=Decimal("10000"), places=2))
@example(Decimal("0.01"))
@example(Decimal("0.02"))  # down to 0.00
@example(Decimal("0.03"))  # up to 0.05
@example(Decimal("0.07"))
@example(Decimal("0.08"))
@example(Decimal("9999.99"))
def test_cash_is_rounded_to_five_centimes_with_a_separate_line(amount: Decimal) -> None:
    rounded, line = round_cash(amount)
    assert rounded * 20 == int(rounded * 20) and abs(line) <= Decimal("0.02") and rounded - line == amount
