"""Does style transfer work? Distances in each feature network's own space, on corpus pairs.

For a content clip ``c``, a style clip ``s`` and the output ``o``:

- style reduction ``1 - D_style(o, s) / D_style(c, s)``: how much of the way from the content's
  style to the target style the output went (target: at least 0.9);
- ``D_content(o, c)`` against ``D_content(s, c)``: the output must stay closer to the content
  than the style clip is (a check that the content survived).

Pairs: speech to speech of another voice, music to music of another melody instrument.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from earshot.audio import load
from earshot.data.corpus import load_manifest
from earshot.losses.style import _layer_weights, content_distance, style_distance
from earshot.losses.style_features import feature_extractor
from earshot.style.transfer import TransferSettings, transfer


@dataclass
class StyleScore:
    """One transfer's distances (see the module docstring)."""

    kind: str
    features: str
    method: str
    style_out: float
    style_content: float
    content_out: float
    content_style: float
    seconds: float

    @property
    def style_reduction(self) -> float:
        return 1.0 - self.style_out / max(self.style_content, 1e-12)


def corpus_pairs(root, *, per_kind: int = 2, split: str = "test", seed: int = 0) -> list[tuple[str, object, object]]:
    """``[(kind, content_item, style_item)]``: speech across speakers, music across melody instruments.

    Contents come from ``split``; a style partner too, or from the ``valid`` split when ``split``
    has none (a small corpus may hold a single test song).
    """
    rng = np.random.default_rng(seed)
    key = {"speech": lambda i: i.params.get("speaker"), "music": lambda i: i.params.get("programs", {}).get("melody")}
    pairs = []
    for kind, ident in key.items():
        items = load_manifest(root, kind=kind, split=split)
        spare = load_manifest(root, kind=kind, split="valid") if split != "valid" else []
        order = rng.permutation(len(items))
        for a in order:
            partners = [b for b in [items[i] for i in order] + spare if ident(b) != ident(items[a])]
            if partners and sum(p[0] == kind for p in pairs) < per_kind:
                pairs.append((kind, items[a], partners[0]))
    return pairs


def _clip(item, sample_rate: int, seconds: float) -> torch.Tensor:
    audio, _ = load(item.path, sample_rate=sample_rate, mono=True)
    n = int(seconds * sample_rate)
    return torch.nn.functional.pad(audio[:, :n], (0, max(0, n - audio.shape[-1])))


def score_transfer(net, name: str, method: str, kind: str, content, style, output, seconds: float) -> StyleScore:
    """Distances of one transfer in ``net``'s feature space (all clips ``(1, samples)``)."""
    sw = _layer_weights(net, None, None, net.style_layers)
    cw = _layer_weights(net, None, None, net.content_layers)
    with torch.no_grad():
        f = {k: net.audio_features(v.reshape(1, 1, -1)) for k, v in
             {"c": content, "s": style, "o": output}.items()}
        return StyleScore(
            kind, name, method,
            style_out=float(style_distance(f["o"], f["s"], sw)), style_content=float(style_distance(f["c"], f["s"], sw)),
            content_out=float(content_distance(f["o"], f["c"], cw)), content_style=float(content_distance(f["s"], f["c"], cw)),
            seconds=seconds)


def evaluate(root, *, features=("ae", "random"), methods=("spectrogram", "waveform"), per_kind: int = 2,
             seconds: float = 3.0, steps: int = 200, sample_rate: int = 16000, seed: int = 0,
             on_output=None) -> list[StyleScore]:
    """Transfer every pair with every feature network and method; ``on_output(tag, audio)`` sees outputs."""
    scores = []
    pairs = [(kind, _clip(c, sample_rate, seconds), _clip(s, sample_rate, seconds))
             for kind, c, s in corpus_pairs(root, per_kind=per_kind, seed=seed)]
    for name in features:
        net = feature_extractor(name, sample_rate=sample_rate, seed=seed)
        for method in methods:
            for i, (kind, content, style) in enumerate(pairs):
                result = transfer(content, style, sample_rate, features=net, method=method,
                                  settings=TransferSettings(steps=steps), seed=seed, progress=False)
                scores.append(score_transfer(net, name, method, kind, content, style, result.audio, result.seconds))
                if on_output is not None:
                    on_output(f"{name}-{method}-{kind}{i}", {"content": content, "style": style, "output": result.audio})
    return scores


def summary_rows(scores: list[StyleScore]) -> tuple[list[str], list[list]]:
    """Mean of each (features, method, kind) group, as table columns and rows."""
    columns = ["features", "method", "kind", "style reduction", "D_style(out,style)", "D_style(content,style)",
               "D_content(out,content)", "D_content(style,content)", "seconds"]
    groups: dict[tuple, list[StyleScore]] = {}
    for s in scores:
        groups.setdefault((s.features, s.method, s.kind), []).append(s)
    rows = []
    for (name, method, kind), group in groups.items():
        mean = lambda attr: float(np.mean([getattr(s, attr) for s in group]))  # noqa: E731
        rows.append([name, method, kind, mean("style_reduction"), mean("style_out"), mean("style_content"),
                     mean("content_out"), mean("content_style"), mean("seconds")])
    return columns, rows


def as_dicts(scores: list[StyleScore]) -> list[dict]:
    return [asdict(s) | {"style_reduction": s.style_reduction} for s in scores]
