"""The HTML report's bar charts, laid out for inline SVG: bars, axes, ticks and printed amounts.

Everything a reader needs is printed on the chart (each bar's amount, the axis
ticks, the unit), so a printed page says as much as the screen; the hover
titles only repeat it.  Pixel geometry is not money, so it is computed in
floats; the values and tick values stay exact (ticks are whole minor units).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from aidledger.core.amounts import Amount, Unit

#: Width of one character of the charts' 11px labels, generously (for the room labels need).
_CHAR = 6.8


@attrs.frozen
class Bar:
    """One bar: its category, its amount as printed, its rectangle and where its amount is printed."""

    label: str
    text: str
    x: float
    y: float
    width: float
    height: float
    negative: bool
    text_x: float
    text_y: float


@attrs.frozen
class Tick:
    """One tick of the value axis: its position along the axis and its label."""

    at: float
    label: str


@attrs.frozen
class Chart:
    """An SVG bar chart: vertical bars over time, or horizontal bars by category.

    ``left``, ``top``, ``right`` and ``bottom`` bound the plot area; ``zero`` is
    where the value axis has zero (a y for vertical charts, an x for horizontal ones).
    ``rotated``: the category labels under a vertical chart are turned upright to fit.
    """

    title: str
    unit: str
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    width: int
    height: int
    horizontal: bool
    left: float
    top: float
    right: float
    bottom: float
    zero: float
    rotated: bool = False


def _nice(rough: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``rough`` (>= 1)."""
    magnitude = 10 ** (len(str(max(rough, 1))) - 1)
    return next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= rough)


def _ticks(values: Sequence[int], count: int) -> tuple[int, int, int]:
    """(low, high, step) in minor units: a scale from at most zero to at least zero covering ``values``."""
    low, high = min([0, *values]), max([0, *values])
    step = _nice(-(-(high - low) // count))
    low, high = low // step * step, -(-high // step) * step
    return low, max(high, low + step), step


def _scale(values: Sequence[int], count: int, unit: Unit) -> tuple[int, int, list[Amount]]:
    low, high, step = _ticks(values, count)
    return low, high, [Amount.from_minor(m, unit) for m in range(low, high + 1, step)]


def vertical(title: str, unit: Unit, points: Sequence[tuple[str, Amount]], fmt: Callable[..., str]) -> Chart:
    """Bars over time (months): the value axis on the left, each bar's amount printed upright above it."""
    texts = [fmt(amount, unit=False) for _, amount in points]
    step = max(24, min(72, 840 // max(len(points), 1)))
    low, high, ticks = _scale([a.minor for _, a in points], 4, unit)
    labels = [fmt(t, unit=False) for t in ticks]
    left = 16 + _CHAR * max((len(x) for x in labels), default=1)
    top = 12 + _CHAR * max((len(x) for x in texts), default=0)
    rotated = step < 60
    plot = 200.0
    bottom = top + plot
    width = int(left + step * max(len(points), 1) + 16)
    height = int(bottom + (64 if rotated else 36))

    def y(minor: int) -> float:
        return top + plot * (high - minor) / (high - low)

    zero = y(0)
    bars = []
    for i, ((label, amount), text) in enumerate(zip(points, texts, strict=True)):
        end = y(amount.minor)
        x = left + i * step + 4
        upper = min(zero, end)
        bars.append(
            Bar(
                label=label,
                text=text,
                x=x,
                y=upper,
                width=step - 8.0,
                height=max(abs(end - zero), 1.0),
                negative=amount.minor < 0,
                text_x=x + (step - 8) / 2 + 4,
                text_y=upper - 4,
            )
        )
    axis = tuple(Tick(y(t.minor), label) for t, label in zip(ticks, labels, strict=True))
    return Chart(
        title, unit.code, tuple(bars), axis, width, height, False, left, top, width - 16.0, bottom, zero, rotated
    )


def horizontal(title: str, unit: Unit, points: Sequence[tuple[str, Amount]], fmt: Callable[..., str]) -> Chart:
    """Bars by category: the categories on the left, each bar's amount printed after it, the value axis below."""
    texts = [fmt(amount, unit=False) for _, amount in points]
    low, high, ticks = _scale([a.minor for _, a in points], 4, unit)
    labels = [fmt(t, unit=False) for t in ticks]
    left, row, top, plot = 210.0, 26, 8.0, 440.0
    widest = max((len(x) for x in [*texts, *labels]), default=0)
    right = left + plot
    bottom = top + row * max(len(points), 1)
    width = int(right + 16 + _CHAR * widest)
    height = int(bottom + 40)

    def x(minor: int) -> float:
        return left + plot * (minor - low) / (high - low)

    zero = x(0)
    bars = []
    for i, ((label, amount), text) in enumerate(zip(points, texts, strict=True)):
        end = x(amount.minor)
        y = top + i * row + 4
        bars.append(
            Bar(
                label=label,
                text=text,
                x=min(zero, end),
                y=y,
                width=max(abs(end - zero), 1.0),
                height=row - 8.0,
                negative=amount.minor < 0,
                text_x=max(zero, end) + 6,
                text_y=y + row - 13,
            )
        )
    axis = tuple(Tick(x(t.minor), label) for t, label in zip(ticks, labels, strict=True))
    return Chart(title, unit.code, tuple(bars), axis, width, height, True, left, top, right, bottom, zero)


__all__ = ["Bar", "Chart", "Tick", "horizontal", "vertical"]
