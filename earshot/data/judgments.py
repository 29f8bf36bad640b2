"""Judged pairs as a torch dataset: the audio of a judgment list, loaded and batched.

The list formats (DPAM's tab-separated lists, earshot's JSON Lines) are read and written by
`earshot.psycho.judgments`; `read_judgments`, `write_judgments` and `Judgment` are importable
from here too.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from earshot.audio.io import load
from earshot.psycho.judgments import Judgment, read_judgments, write_judgments
from earshot.validate import check_sample_rate

__all__ = ["Judgment", "JudgmentListDataset", "read_judgments", "write_judgments"]


class JudgmentListDataset(Dataset):
    """Judged pairs as ``(reference (C, T), test (C, T), label ())`` float32 tensors.

    Args:
        path: a DPAM list (tab-separated) or an earshot ``.jsonl`` list.
        sample_rate: rate to load at (resampled). ``mono``: average channels.
        segment_seconds: ``None`` keeps whole clips (the shorter of a pair is zero-padded to the
            longer); a number crops or pads both to that length from the start, for batching.
    The judgments themselves are in ``.judgments`` (paths, label, listeners, type, params).
    """

    def __init__(self, path, *, root=None, format: str = "auto", sample_rate: int = 16000, mono: bool = True,
                 segment_seconds: float | None = None):
        self.judgments = read_judgments(path, root=root, format=format)
        self.sample_rate, self.mono = check_sample_rate(sample_rate), mono
        self.segment = None if segment_seconds is None else int(round(segment_seconds * self.sample_rate))

    def __len__(self) -> int:
        return len(self.judgments)

    def __getitem__(self, index: int):
        j = self.judgments[index]
        ref, _ = load(j.reference, sample_rate=self.sample_rate, mono=self.mono)
        test, _ = load(j.test, sample_rate=self.sample_rate, mono=self.mono)
        n = self.segment or max(ref.shape[-1], test.shape[-1])
        ref, test = (torch.nn.functional.pad(x, (0, max(0, n - x.shape[-1])))[..., :n] for x in (ref, test))
        return ref.contiguous(), test.contiguous(), torch.tensor(j.label, dtype=torch.float32)
