"""The axis of the reports' two SVG charts (a run's timeline; the history's recovery times): seconds on a linear
scale, ticks at round values, tick labels written the way the pages write seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TICK_STEPS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)


def tick_step(span: float, most: int) -> float:
    """The smallest round step that cuts ``span`` seconds into at most ``most`` intervals."""
    return next((s for s in TICK_STEPS if span / s <= most), TICK_STEPS[-1])


def round_up(value: float, most: int) -> float:
    """The end of an axis from 0 that shows ``value``: the next multiple of the round step that cuts it into at
    most ``most`` intervals."""
    step = tick_step(value, most)
    return math.ceil(value / step) * step


def seconds(value: float) -> str:
    """2 decimals, no trailing zeros: 90 → "90", 3.693 → "3.69", 0.5 → "0.5"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Scale:
    """Seconds ``start`` … ``end`` drawn from pixel ``low`` to pixel ``high`` (``high`` < ``low`` for an axis that
    grows upwards)."""

    start: float
    end: float
    low: float
    high: float

    def at(self, value: float) -> float:
        """The pixel of ``value`` seconds."""
        return self.low + (value - self.start) / (self.end - self.start) * (self.high - self.low)

    def ticks(self, most: int = 12) -> list[float]:
        """The multiples of the round step (``tick_step``) between ``start`` and ``end``."""
        step = tick_step(self.end - self.start, most)
        n = int(self.start // step) + 1 if self.start % step else int(self.start // step)
        out = []
        while n * step <= self.end:
            out.append(round(n * step, 6))
            n += 1
        return out
