"""The calibration figure: each target of a stress file, simulated beside historical.

Targets have units of their own (bp, %, multiples), so each row shows its miss in tolerances:
the band is the tolerance around the historical figure, the dot the mean over the seeds and
the bar their range, clipped at five tolerances (an arrow at the edge: further off); the
figures themselves are written beside each row.
"""

from __future__ import annotations

from typing import Any

EDGE = 5.0  # tolerances: misses beyond are drawn at the edge


def calibration_figure(calibration: dict[str, Any]):
    """A matplotlib figure of a calibration (`sim.studies.calibration.Calibration.to_dict`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: slow to import
    from matplotlib.figure import Figure

    targets = calibration["targets"]
    fig = Figure(figsize=(9.0, 0.55 * len(targets) + 1.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.axvspan(-1, 1, color="0.9", label="within tolerance")
    ax.axvline(0, color="0.5", lw=0.8)
    for row, t in enumerate(reversed(targets)):
        colour = "tab:blue" if t["kind"] == "emergent" else "tab:grey"
        label = f"{t['label']} ({t['kind']})"
        if t["mean"] is None:
            ax.text(0, row, "not measured", ha="center", va="center", color="tab:red")
        else:
            miss, low, high = (
                min(max((t[k] - t["historical"]) / t["tolerance"], -EDGE), EDGE)
                for k in ("mean", "low", "high")
            )
            marker = {EDGE: ">", -EDGE: "<"}.get(miss, "o")
            # The mean of equal values may round a hair outside their range.
            bar = [[max(miss - low, 0.0)], [max(high - miss, 0.0)]]
            ax.errorbar(
                miss, row, xerr=bar, fmt=marker, markersize=8,
                color=colour if t["met"] else "tab:red", capsize=3,
            )  # fmt: skip
        shown = "-" if t["mean"] is None else f"{t['mean']:.3g}"
        ax.annotate(
            f"sim {shown} / hist {t['historical']:.3g} ± {t['tolerance']:.3g}",
            (1.0, row), xycoords=("axes fraction", "data"), xytext=(6, 0),
            textcoords="offset points", va="center", fontsize="small",
        )  # fmt: skip
        ax.text(0.0, row, label, transform=ax.get_yaxis_transform(), ha="right", va="center")
    ax.set_yticks([])
    ax.set_ylim(-0.7, len(targets) - 0.3)
    ax.set_xlim(-EDGE - 0.5, EDGE + 0.5)
    ax.set_xlabel("simulated minus historical, in tolerances (dot: mean over seeds; bar: range)")
    verdict = "every target met" if calibration["met"] else "targets missed (red)"
    seeds = len(calibration["seeds"])
    ax.set_title(f"{calibration['scenario']}: {seeds} seed{'s' * (seeds != 1)}, {verdict}")
    fig.subplots_adjust(left=0.3, right=0.72)
    return fig
