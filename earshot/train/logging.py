"""Run logging: TensorBoard scalars, audio and spectrogram images; a CSV of every metric.

Only the global-zero process writes. Files in the run directory::

    RUN/metrics.csv                 step,split,name,value,time (appended across resumes;
                                    a resume drops the rows after its checkpoint's step)
    RUN/tensorboard/                events for `tensorboard --logdir RUN`
    RUN/examples/step-00000200/     NAME.wav and NAME.png for each example
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import torch


def spectrogram_image(audio: torch.Tensor, *, n_fft: int = 512, floor_db: float = -80.0) -> np.ndarray:
    """A ``(freq, frames, 3)`` uint8 colour image (low frequencies at the bottom) of the
    log-magnitude spectrogram of ``audio`` ``(channels, samples)`` (channels averaged)."""
    from matplotlib import colormaps

    x = audio.detach().float().cpu().reshape(-1, audio.shape[-1]).mean(0)
    n_fft = max(16, min(n_fft, 2 ** int(math.log2(max(x.numel(), 16)))))
    spec = torch.stft(x, n_fft, n_fft // 4, window=torch.hann_window(n_fft), return_complex=True).abs()
    db = 20 * torch.log10(spec + 1e-8)
    db = (db - db.max()).clamp(min=floor_db) / -floor_db + 1.0  # in [0, 1]
    rgb = colormaps["magma"](db.flip(0).numpy())[..., :3]
    return (rgb * 255).astype(np.uint8)


class RunLogger:
    """Writes scalars to TensorBoard and ``metrics.csv``; audio examples as TB audio, images, WAVs."""

    def __init__(self, run_dir: str | Path, *, enabled: bool = True, tensorboard: bool = True,
                 resume_step: int | None = None):
        """``resume_step``: a resumed run drops what was logged after that step (it is replayed)."""
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.writer = None
        self._csv = None
        if not enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            purge = None if resume_step is None else resume_step + 1
            self.writer = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=purge)
        path = self.run_dir / "metrics.csv"
        if resume_step is not None and path.exists():
            _truncate_csv(path, resume_step)
        new = not path.exists()
        self._csv = open(path, "a", newline="")
        self._rows = csv.writer(self._csv)
        if new:
            self._rows.writerow(["step", "split", "name", "value", "time"])

    def scalars(self, step: int, split: str, values: Mapping[str, float]) -> None:
        """Log ``split/name`` scalars at ``step``."""
        if not self.enabled:
            return
        now = round(time.time(), 3)
        for name, value in values.items():
            self._rows.writerow([step, split, name, f"{float(value):.8g}", now])
            if self.writer is not None:
                self.writer.add_scalar(f"{split}/{name}", float(value), step)
        self._csv.flush()

    def audio(self, step: int, examples: Mapping[str, torch.Tensor], sample_rate: int, *, prefix: str = "") -> None:
        """Log ``(channels, samples)`` clips: TB audio + spectrogram images, WAV + PNG files."""
        if not self.enabled or not examples:
            return
        from matplotlib import pyplot as plt

        from earshot.audio.io import save

        folder = self.run_dir / "examples" / f"step-{step:08d}"
        for name, clip in examples.items():
            clip = clip.detach().float().cpu()
            clip = clip.reshape(1, -1) if clip.dim() == 1 else clip.reshape(-1, clip.shape[-1])
            clip = torch.nan_to_num(clip).clamp(-1, 1)
            image = spectrogram_image(clip)
            tag = f"{prefix}{name}"
            save(folder / f"{tag.replace('/', '_')}.wav", clip, sample_rate, overwrite=True)
            plt.imsave(folder / f"{tag.replace('/', '_')}.png", image)
            if self.writer is not None:
                for c in range(clip.shape[0]):
                    suffix = f"/ch{c}" if clip.shape[0] > 1 else ""
                    self.writer.add_audio(f"audio/{tag}{suffix}", clip[c], step, sample_rate=sample_rate)
                self.writer.add_image(f"spectrogram/{tag}", image, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None


def _truncate_csv(path: Path, last_step: int) -> None:
    """Rewrite ``metrics.csv`` (atomically) without its rows after ``last_step``."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= last_step]
    if len(keep) == len(rows):
        return
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(keep)
    os.replace(tmp, path)
