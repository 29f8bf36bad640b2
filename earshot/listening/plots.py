"""Result plots for the admin pages (SVG bytes, matplotlib's Agg backend).

- MUSHRA: mean rating per condition with 95% confidence intervals.
- A/B: preference score per condition (0.5 = chosen as often as not) with 95% intervals.
- JND: share of "different" answers per level for each sequence (pooled over listeners) with
  the pooled psychometric fit.
"""

from __future__ import annotations

import io
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import ndtr  # noqa: E402

from earshot.listening import stats  # noqa: E402


def results_svg(kind: str, name: str, records: list[dict]) -> bytes:
    """An SVG figure of an experiment's results (a short note when there are none yet)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    try:
        if not records:
            ax.text(0.5, 0.5, "no answers yet", ha="center", va="center")
            ax.set_axis_off()
        elif kind == "jnd":
            _jnd(ax, [r for r in records if not (r["flagged"] or r["checks_failed"])])
        else:
            _bars(ax, kind, records)
        ax.set_title(name)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="svg")
        return buf.getvalue()
    finally:
        plt.close(fig)


def _bars(ax, kind: str, records: list[dict]) -> None:
    if kind == "mushra":
        rows = stats.mushra_summary(records, exclude=stats.mushra_screen(records))
        ax.set_ylim(0, 100)
        ax.set_ylabel("rating (mean, 95% CI)")
    else:
        rows = [r for r in stats.ab_summary(records) if r.versus == "*"]
        ax.set_ylim(0, 1)
        ax.axhline(0.5, color="0.6", lw=0.8, ls="--")
        ax.set_ylabel("preference score (95% CI)")
    x = np.arange(len(rows))
    means = np.array([r.mean for r in rows])
    err = np.array([[r.mean - r.ci_low, r.ci_high - r.mean] for r in rows]).T
    ax.bar(x, means, yerr=np.nan_to_num(err), capsize=4, color="#4a7bb7")
    ax.set_xticks(x, [r.condition for r in rows], rotation=20)


def _jnd(ax, records: list[dict]) -> None:
    fits = {f.sequence: f for f in stats.jnd_fits(records)}
    by_seq = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_seq[r["sequence"]][r["level"]].append(r["different"])
    for name in sorted(by_seq)[:8]:
        levels = sorted(by_seq[name])
        share = [np.mean(by_seq[name][lv]) for lv in levels]
        line = ax.plot(levels, share, "o", ms=4, label=name)[0]
        f = fits[name]
        grid = np.linspace(0, f.n_levels - 1, 100)
        ax.plot(grid, ndtr((grid - f.mu) / f.sigma), color=line.get_color(), lw=1)
    ax.set_xlabel("level")
    ax.set_ylabel('share "different"')
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7, loc="lower right")
