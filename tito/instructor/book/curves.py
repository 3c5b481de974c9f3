"""Training curves for the milestones page: PNG images drawn with matplotlib from a reference run's
recorded history, at book-build time (the history is data in the repo; the images are build output).

A history is a list of charts:
    {"title": str, "xlabel": str, "ylabel": str,
     "series": {label: [y, ...] | {"x": [...], "y": [...]}},   # a bare list is plotted against 1..n
     "baseline": {label: value}}                                # optional horizontal reference lines
"""
from __future__ import annotations

import io

from ...core.errors import TitoError


def render_png(chart: dict) -> bytes:
    """One chart as PNG bytes; the same chart gives the same bytes (no timestamp in the metadata)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TitoError("the milestones page draws its training curves with matplotlib, which is not installed; "
                        "run `pip install -e '.[book]'`") from None
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    try:
        for label, values in (chart.get("series") or {}).items():
            if isinstance(values, dict):
                xs, ys = list(values.get("x", [])), list(values.get("y", []))
            else:
                ys = list(values)
                xs = list(range(1, len(ys) + 1))
            ax.plot(xs, ys, label=str(label), linewidth=1.6 if len(ys) > 50 else 2.0,
                    marker="o" if 1 < len(ys) <= 40 else None, markersize=3)
        for label, value in (chart.get("baseline") or {}).items():
            ax.axhline(float(value), linestyle="--", color="grey", linewidth=1.2, label=str(label))
        ax.set_title(str(chart.get("title", "")))
        ax.set_xlabel(str(chart.get("xlabel", "")))
        ax.set_ylabel(str(chart.get("ylabel", "")))
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": None})
        return out.getvalue()
    finally:
        plt.close(fig)
