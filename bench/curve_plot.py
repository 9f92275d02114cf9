"""The hourly run's cost against the size of the history, as a PNG beside the JSON result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.scorecard import HOURLY_GROWTH_LIMIT


def write_hourly_curve(hourly: dict[str, Any], folder: Path, name: str) -> Path:
    """Plot the curve of the hourly_run section (medians, the total's min–max as error bars, the target line)
    into `folder/<name>.png`, and the same image as `folder/latest-hourly-curve.png`; returns the first path."""
    from matplotlib.figure import Figure  # not pyplot: no GUI backend, no global state
    from matplotlib.ticker import FuncFormatter

    curve, steps = hourly["curve"], hourly["steps"]
    sizes = [point["songplays"] for point in curve]
    millions = max(sizes) >= 1_000_000
    xs = [n / 1_000_000 if millions else n for n in sizes]
    figure = Figure(figsize=(8, 4.8), layout="constrained")
    axes = figure.add_subplot()
    for step in steps:
        axes.plot(xs, [point["steps"][step]["median"] for point in curve], marker=".", linewidth=1, label=step)
    total = [point["steps"]["total"] for point in curve]
    medians = [t["median"] for t in total]
    axes.errorbar(
        xs,
        medians,
        yerr=[[m - t["min"] for m, t in zip(medians, total)], [t["max"] - m for m, t in zip(medians, total)]],
        marker="o",
        linewidth=2,
        capsize=3,
        color="black",
        label="total (min – max)",
    )
    axes.axhline(
        medians[0] * HOURLY_GROWTH_LIMIT,
        linestyle="--",
        color="tab:red",
        label=f"target: {HOURLY_GROWTH_LIMIT:g}× the empty warehouse",
    )
    axes.set_xlabel("songplays of history" + (" (millions)" if millions else ""))
    axes.set_ylabel("seconds (median)")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,g}"))
    axes.set_ylim(bottom=0)
    axes.set_title(
        f"One hourly run ({curve[0]['window_songplays']:,} plays) against the history: "
        f"{medians[-1] / medians[0]:.2f}× empty at {sizes[-1]:,}",
        fontsize=10,
    )
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    figure.savefig(path, dpi=110)
    (folder / "latest-hourly-curve.png").write_bytes(path.read_bytes())
    return path
