"""Figures for reports: spectrograms, loss curves, gradient heatmaps. Each returns PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def log_spectrogram(audio: torch.Tensor, *, n_fft: int = 512, hop: int = 128, floor_db: float = -100.0) -> np.ndarray:
    """dB magnitude spectrogram ``(freq, frames)`` of a mono signal ``(samples,)`` or ``(1, samples)``."""
    x = audio.detach().float().reshape(-1).cpu()
    if x.numel() < n_fft:
        x = torch.nn.functional.pad(x, (0, n_fft - x.numel()))
    spec = torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs()
    return (20 * torch.log10(spec + 10 ** (floor_db / 20))).numpy()


def spectrogram_grid(panels: list[tuple[str, np.ndarray]], sample_rate: int, *, hop: int = 128,
                     cmap: str = "magma", vmin_db: float | None = -90.0, shared_scale: bool = True) -> bytes:
    """Side-by-side images of ``(freq, frames)`` arrays with titles; returns PNG bytes."""
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 2.8), squeeze=False, constrained_layout=True)
    top = max(float(p.max()) for _, p in panels) if shared_scale else None
    for ax, (title, panel) in zip(axes[0], panels):
        frames = panel.shape[1]
        extent = (0, frames * hop / sample_rate, 0, sample_rate / 2000)
        vmin = vmin_db if vmin_db is not None else float(panel.min())
        im = ax.imshow(panel, origin="lower", aspect="auto", extent=extent, cmap=cmap,
                       vmin=vmin, vmax=top if top is not None else None)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("time (s)", fontsize=8)
        ax.set_ylabel("kHz", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="dB")
    return _png(fig)


def spectrograms(clips: list[tuple[str, torch.Tensor]], sample_rate: int) -> bytes:
    """Spectrograms of labelled mono clips side by side (shared dB scale)."""
    return spectrogram_grid([(label, log_spectrogram(audio)) for label, audio in clips], sample_rate)


def curves(series: dict[str, list[tuple[int, float]]], *, title: str = "", ylabel: str = "loss", logy: bool = True) -> bytes:
    """Line plot of named ``[(step, value), ...]`` series (log y-axis when asked and every value is positive)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2), constrained_layout=True)
    for name, points in series.items():
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, label=name, linewidth=1.2)
    if logy and all(v > 0 for points in series.values() for _, v in points):  # else linear
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def training_curves(out):
    """A `Figure` of the total training loss of every run under ``out`` (each ``metrics.csv``, named
    by its folder), or None when there is none."""
    import csv
    from pathlib import Path

    from earshot.report.document import Figure

    series = {}
    for path in sorted(Path(out).rglob("metrics.csv")):
        with open(path) as f:
            points = [(int(r["step"]), float(r["value"])) for r in csv.DictReader(f)
                      if r["split"] == "train" and r["name"] == "loss"]
        if points:
            series[path.parent.name] = points
    if not series:
        return None
    return Figure("training curves", curves(series, title="total training loss per run"),
                  "The weighted sum of each run's loss terms on its training batches (log scale); runs with "
                  "different losses are on different scales, so compare shapes, not heights.")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
