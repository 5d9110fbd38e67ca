"""The order status machine refuses illegal moves."""

import itertools

import pytest

from checkout.status import TRANSITIONS, OrderStatus, ensure_transition, gives_stock_back, summarise
from marketplace.errors import IllegalTransition

S = OrderStatus


def test_the_happy_path_is_allowed():
    path = [S.PLACED, S.PAID, S.PREPARED, S.OUT_FOR_DELIVERY, S.DELIVERED]
    for current, new in itertools.pairwise(path):
        ensure_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [(S.PLACED, S.DELIVERED), (S.DELIVERED, S.PLACED), (S.CANCELLED, S.PAID), (S.PAID, S.CANCELLED), (S.PAID, S.PAID)],
)
def test_illegal_transitions_are_refused_with_a_stable_code(current, new):
    with pytest.raises(IllegalTransition) as info:
        ensure_transition(current, new)
    assert info.value.code == "illegal_transition"
    assert info.value.params == {"current": current.value, "new": new.value}


def test_closed_states_are_final_and_every_state_has_a_rule():
    assert set(TRANSITIONS) == set(S)
    assert not TRANSITIONS[S.CANCELLED] and not TRANSITIONS[S.REFUNDED]


def test_stock_comes_back_only_if_goods_never_left():
    assert gives_stock_back(S.PLACED, S.CANCELLED)
    assert gives_stock_back(S.PREPARED, S.REFUNDED)
    assert not gives_stock_back(S.DELIVERED, S.REFUNDED)


def test_an_order_is_as_far_as_its_slowest_open_vendor_part():
    assert summarise([S.PAID, S.PREPARED]) == S.PAID
    assert summarise([S.CANCELLED, S.DELIVERED]) == S.DELIVERED
    assert summarise([S.CANCELLED, S.CANCELLED]) == S.CANCELLED
