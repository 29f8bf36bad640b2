"""Losses by name, and ``build_loss`` from a string such as ``"l1 + 0.5*mrstft"``.

Grammar: ``term ("+" term)*`` with ``term = [weight "*"] name ["(" key=value, ... ")"]``;
values are Python literals, e.g. ``"mrmel(n_mels=[5, 10, 20]) + 0.1*sisdr"``. Learned losses
are lazy entries (``"module:Class"``), imported only when built, so that
``import earshot.losses`` stays light.
"""

from __future__ import annotations

import ast
import inspect
import re
from typing import Mapping

from torch import nn

from earshot.errors import ConfigError, SampleRateError
from earshot.losses import spectral, waveform
from earshot.losses.combine import WeightedLoss
from earshot.registry import IDENTIFIER, Registry

LOSSES = Registry("loss", pattern=IDENTIFIER, entries={
    "l1": waveform.L1Loss,
    "l2": waveform.L2Loss,
    "mse": waveform.L2Loss,
    "esr": waveform.ESRLoss,
    "logcosh": waveform.LogCoshLoss,
    "snr": waveform.SNRLoss,
    "sisdr": waveform.SISDRLoss,
    "sdsdr": waveform.SDSDRLoss,
    "sc": spectral.SpectralConvergenceLoss,
    "stftmag": spectral.STFTMagnitudeLoss,
    "stft": spectral.STFTLoss,
    "mrstft": spectral.MultiResolutionSTFTLoss,
    "mrmel": spectral.MultiResolutionMelLoss,
    "mel": spectral.MultiResolutionMelLoss,
    "msspec": spectral.MultiScaleSpectralLoss,
    "multiscale": spectral.MultiScaleSpectralLoss,
    "codec": "earshot.losses.codec:CodecLoss",
    "jnd": "earshot.losses.jnd:JNDLoss",
    "style": "earshot.losses.style:StyleLoss",
    "content": "earshot.losses.style:ContentLoss",
})

_TERM = re.compile(r"^\s*(?:(?P<weight>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*\s*)?"
                   r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<args>.*)\))?\s*$", re.S)

_EXPONENT = re.compile(r"(?:^|[^A-Za-z0-9_.])[0-9.]+[eE]$")


def register_loss(name: str, target: "type[nn.Module] | str") -> None:
    """Add a loss under ``name``: a class, or a lazy ``"package.module:Class"`` string."""
    LOSSES.register(name, target)


def names() -> list[str]:
    """Every registered loss name."""
    return LOSSES.names()


def resolve(name: str) -> type[nn.Module]:
    """The class registered under ``name`` (importing lazy entries)."""
    return LOSSES.load(name)


def _split_terms(spec: str) -> list[str]:
    """Split on '+' outside parentheses/brackets (a '+' in an exponent such as 1e+3 is kept)."""
    parts, depth, cur = [], 0, ""
    for i, ch in enumerate(spec):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "+" and depth == 0 and not _EXPONENT.search(cur):
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _parse_args(text: str | None, term: str) -> dict:
    if not text or not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text})", mode="eval").body
        if call.args:
            raise ValueError("positional arguments are not allowed")
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError) as exc:
        raise ConfigError(f"cannot parse arguments of loss term {term.strip()!r}: {exc}") from exc


def parse(spec: str) -> list[tuple[str, float, dict, bool]]:
    """``"l1 + 0.5*mrstft(w_sc=0)"`` -> ``[(name, weight, kwargs, weight_given), ...]``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"loss spec must be a non-empty string, got {spec!r}")
    out = []
    for term in _split_terms(spec):
        m = _TERM.match(term)
        if not m:
            raise ConfigError(f"cannot parse loss term {term.strip()!r} in {spec!r}")
        weight = m.group("weight")
        out.append((m.group("name"), float(weight) if weight else 1.0, _parse_args(m.group("args"), term),
                    weight is not None))
    seen = [t[0] for t in out]
    if len(set(seen)) != len(seen):
        raise ConfigError(f"a loss appears twice in {spec!r}")
    return out


def instantiate(name: str, kwargs: dict | None = None, *, sample_rate: int | None = None,
                reduction: str = "mean") -> nn.Module:
    """Build the loss ``name`` with ``kwargs``, passing ``sample_rate``/``reduction`` where it takes them."""
    cls = resolve(name)
    kwargs = dict(kwargs or {})
    params = inspect.signature(cls).parameters
    if "sample_rate" in params and "sample_rate" not in kwargs:
        if sample_rate is not None:
            kwargs["sample_rate"] = sample_rate
        elif params["sample_rate"].default is inspect.Parameter.empty:
            raise SampleRateError(f"loss {name!r} needs sample_rate")
    if "reduction" in params and "reduction" not in kwargs:
        kwargs["reduction"] = reduction
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad arguments for loss {name!r}: {exc}") from exc


def build_terms(spec: "str | Mapping[str, float]", *, sample_rate: int | None = None,
                reduction: str = "mean") -> dict[str, tuple[float, nn.Module]]:
    """``{name: (weight, module)}`` for a spec string or a ``{name: weight}`` mapping."""
    if isinstance(spec, Mapping):
        items = [(k, float(w), {}) for k, w in spec.items()]
    else:
        items = [(n, w, kw) for n, w, kw, _ in parse(spec)]
    return {n: (w, instantiate(n, kw, sample_rate=sample_rate, reduction=reduction)) for n, w, kw in items}


def build_loss(spec: "str | Mapping[str, float]", *, sample_rate: int | None = None, reduction: str = "mean",
               **kwargs) -> nn.Module:
    """Build a loss from a name (``"mrstft"``), a sum (``"l1 + 0.5*mrstft"``) or ``{name: weight}``.

    One rule: the module returned, called as ``loss(prediction, target)``, always returns a float32
    ``torch.Tensor`` (a scalar, or ``(batch,)`` for ``reduction="none"``). A single unweighted name
    gives that loss module (``kwargs`` go to its constructor); anything else gives a
    :class:`~earshot.losses.combine.WeightedLoss`, whose tensor is a
    :class:`~earshot.losses.combine.LossResult`: the total, also carrying ``components``.
    ``sample_rate`` (Hz) is passed to every loss that takes one; a loss that needs one and gets
    none raises ``SampleRateError``.
    """
    if isinstance(spec, str):
        terms = parse(spec)
        if len(terms) == 1 and not terms[0][3]:
            name, _, args, _ = terms[0]
            return instantiate(name, {**args, **kwargs}, sample_rate=sample_rate, reduction=reduction)
    if kwargs:
        raise ConfigError("keyword arguments are only allowed for a single loss name; use name(key=value)")
    return WeightedLoss(build_terms(spec, sample_rate=sample_rate, reduction=reduction))
