"""Pricing: totals, VAT, local-currency share and payouts always add up to the centime."""

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from checkout.pricing import PricedLine, quote
from marketplace.money import Money, percent_of, round_down, round_half_up, vat_included

D = Decimal


def line(vendor: int, price: str, qty: str, vat: str = "2.6", share: int = 50, product: int = 1) -> PricedLine:
    return PricedLine(vendor, product, D(qty), D(price), D(vat), share)


def test_line_total_rounds_half_up_to_the_centime():
    assert line(1, "4.80", "0.333").total == D("1.60")  # 1.5984
    assert line(1, "0.05", "0.5").total == D("0.03")  # 0.025 -> half up


def test_vat_is_extracted_from_vat_inclusive_prices_per_rate():
    q = quote([line(1, "102.60", "1", "2.6"), line(2, "108.10", "1", "8.1")], D("5"))
    assert q.vat == {D("2.6"): D("2.60"), D("8.1"): D("8.10")}


def test_vat_is_rounded_once_on_the_sum_of_every_line_at_one_rate():
    # Three wines at 1.00: 3 x 0.0749 is 0.2248 -> 0.22 (rounding each line would say 0.21, the last line alone 0.07).
    wines = [line(1, "1.00", "1", "8.1", product=p) for p in (1, 2, 3)]
    # Two 7.30 lines at 2.6: 0.3700 -> 0.37 (each line alone 0.18).
    honey = [line(2, "7.30", "1", "2.6", product=p) for p in (4, 5)]
    q = quote([*wines, *honey, line(3, "1.00", "3", "8.1", product=6)], D("5"))
    assert [v.vat for v in q.vendors] == [{D("8.1"): D("0.22")}, {D("2.6"): D("0.37")}, {D("8.1"): D("0.22")}]
    assert q.vat == {D("2.6"): D("0.37"), D("8.1"): D("0.44")}  # the vendors' VAT added up, per rate


@pytest.mark.parametrize(
    ("gross", "rate", "vat"),
    [
        # The 2-decimal amounts whose VAT lies closest to a half centime, on each side (an exact half never occurs).
        ("7.30", "2.6", "0.18"),  # 0.184990
        ("8.09", "2.6", "0.21"),  # 0.205010
        ("144.20", "8.1", "10.80"),  # 10.804995
        ("136.86", "8.1", "10.26"),  # 10.255005
        ("0.01", "8.1", "0.00"),
        ("49999.50", "8.1", "3746.49"),  # the largest line the property test draws, 50 x 999.99: 3746.4935
    ],
)
def test_vat_included_rounds_half_up_to_the_centime_at_the_boundaries(gross: str, rate: str, vat: str):
    assert vat_included(D(gross), D(rate)) == D(vat)
    assert quote([line(1, gross, "1", rate)], D("0")).vat == {D(rate): D(vat)}


def test_delivery_fee_is_paid_to_delivery_and_carries_standard_vat():
    q = quote([line(1, "10.00", "2")], D("5"), delivery_fee=D("7.00"), delivery_vat_rate=D("8.1"))
    assert q.total == D("27.00")
    assert q.delivery_receives == D("7.00")
    assert q.vat[D("8.1")] == vat_included(D("7.00"), D("8.1")) == D("0.52")


def test_leman_share_is_rounded_down_so_it_never_exceeds_what_the_vendor_accepts():
    q = quote([line(1, "3.33", "1", share=50)], D("0"))
    assert q.leman_payable == D("1.66")  # 1.665 down, not up


def test_who_receives_what_for_two_vendors():
    q = quote([line(1, "20.00", "1", share=100), line(2, "10.00", "3", share=0, product=2)], D("5"), D("7.00"))
    assert [v.commission for v in q.vendors] == [D("1.00"), D("1.50")]
    assert [v.vendor_receives for v in q.vendors] == [D("19.00"), D("28.50")]
    assert q.platform_receives == D("2.50")
    assert q.leman_payable == D("20.00")
    assert q.total == D("57.00")


def test_money_refuses_float_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(D("1")) + Money(D("1"), "EUR")
    assert (Money(D("1.005")) + Money(D("0"))).rounded() == Money(D("1.01"))


def test_rounding_helpers():
    assert round_half_up(D("2.345")) == D("2.35")
    assert round_down(D("2.349")) == D("2.34")
    assert percent_of(D("19.90"), D("5")) == D("1.00")  # 0.995


prices = st.decimals(min_value=D("0.00"), max_value=D("999.99"), places=2)
quantities = st.one_of(
    st.integers(min_value=1, max_value=50).map(D),
    st.decimals(min_value=D("0.001"), max_value=D("25"), places=3),
)
lines = st.lists(
    st.builds(
        PricedLine,
        vendor_id=st.integers(min_value=1, max_value=6),
        product_id=st.integers(min_value=1, max_value=10_000),
        quantity=quantities,
        unit_price=prices,
        vat_rate=st.sampled_from([D("2.6"), D("8.1"), D("3.8")]),
        leman_share_pct=st.integers(min_value=0, max_value=100),
    ),
    min_size=1,
    max_size=30,
)


@given(
    lines,
    st.decimals(min_value=D("0"), max_value=D("30"), places=2),
    st.decimals(min_value=D("0"), max_value=D("50"), places=2),
)
@example([line(1, "0.01", "1", share=100)], D("0"), D("0"))  # a single centime
@example([line(1, "0.01", "0.001", share=100)], D("30"), D("0.01"))  # a line worth nothing, a centime's fee
@example([line(1, "7.30", "1"), line(1, "8.09", "1", product=2), line(2, "144.20", "1", "8.1")], D("5"), D("7"))
@example([line(v, "1.00", "1", "8.1", share=33, product=p) for v in (1, 2) for p in (1, 2, 3)], D("5"), D("7"))
@example([line(v % 6 + 1, "999.99", "50", ("2.6", "8.1")[v % 2], 100, v) for v in range(30)], D("30"), D("50"))
def test_money_splits_always_add_up_to_the_order_total(lines, commission_pct, fee):
    q = quote(lines, commission_pct, fee, D("8.1"))
    assert q.producers_receive + q.delivery_receives + q.platform_receives == q.total
    assert q.total == sum((x.total for x in lines), D(0)) + fee
    assert sum((v.goods_total for v in q.vendors), D(0)) == q.goods_total
    for v in q.vendors:
        assert v.commission + v.vendor_receives == v.goods_total
        assert 0 <= v.leman_payable <= v.goods_total
        assert v.leman_payable <= sum((x.total * x.leman_share_pct / 100 for x in v.lines), D(0))
    assert 0 <= sum(q.vat.values()) <= q.total
    for v in q.vendors:  # VAT of all of a vendor's lines at one rate, within half a centime
        assert set(v.vat) == {x.vat_rate for x in v.lines}
        for rate, vat in v.vat.items():
            gross = sum((x.total for x in v.lines if x.vat_rate == rate), D(0))
            assert abs(vat - gross * rate / (100 + rate)) <= D("0.005")
    fee_vat = {D("8.1"): vat_included(fee, D("8.1"))} if fee else {}
    for rate, vat in q.vat.items():  # the order's VAT is the vendors' plus the delivery fee's
        assert vat == sum((v.vat.get(rate, D(0)) for v in q.vendors), fee_vat.get(rate, D(0)))
    for amount in [q.total, q.leman_payable, q.platform_receives, *q.vat.values()]:
        assert amount == amount.quantize(D("0.01"))
