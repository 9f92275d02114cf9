"""Repeated measurements: the median of several runs, with the spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Measurement:
    """Several samples of one figure (seconds, or bytes for memory)."""

    samples: list[float] = field(default_factory=list)
    unit: str = "s"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    @property
    def spread_pct(self) -> float:
        """Half the range, as a percentage of the median."""
        return 0.0 if not self.median else 100 * (self.high - self.low) / 2 / self.median

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "samples": [round(s, 6) for s in self.samples],
            "median": round(self.median, 6),
            "min": round(self.low, 6),
            "max": round(self.high, 6),
            "spread_pct": round(self.spread_pct, 2),
        }


def summed(parts: Sequence[Measurement]) -> Measurement:
    """Figures timed alone and added: sample k is the sum of every part's k-th sample."""
    return Measurement([sum(values) for values in zip(*(p.samples for p in parts), strict=True)], parts[0].unit)


@dataclass
class Contender:
    """One way of doing the work: `run` is timed, `before` and `after` are not."""

    name: str
    run: Callable[[], Any]
    before: Callable[[], Any] | None = None
    after: Callable[[], Any] | None = None


def race(
    contenders: Sequence[Contender], repeat: int, progress: Callable[[str], None] = print
) -> dict[str, Measurement]:
    """Time every contender `repeat` times, interleaved (A B C, A B C, ...), so drift hits all alike."""
    results = {c.name: Measurement() for c in contenders}
    for round_number in range(1, repeat + 1):
        for contender in contenders:
            if contender.before:
                contender.before()
            began = time.perf_counter()
            contender.run()
            elapsed = time.perf_counter() - began
            if contender.after:
                contender.after()
            results[contender.name].samples.append(elapsed)
            progress(f"  {contender.name:<36} round {round_number}/{repeat}: {elapsed:8.3f} s")
    return results
