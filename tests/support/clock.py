"""A clock that moves only when a test moves it, for code that takes `clock: Callable[[], float]`
(the Telegram fake's flood limits and long polls, the Matrix channel's numbered choices)."""

from __future__ import annotations


class ManualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
