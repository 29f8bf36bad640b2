"""Style transfer: make audio whose deep features keep the content's and take the style's statistics.

Two methods:

- ``"spectrogram"``: optimise the log-magnitude spectrogram ``log1p|STFT|`` (initialised from the
  content, as the prosodic style-transfer report found best), then recover a waveform with
  Griffin-Lim. Needs a spectrogram feature network (``ae`` or ``random``).
- ``"waveform"``: optimise the waveform itself through the STFT (or through a waveform network
  such as ``jnd`` or ``emulator``), so no phase has to be guessed.

``texture=True`` drops the content term and starts from noise: texture synthesis from the style.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from earshot.dsp.griffinlim import griffin_lim
from earshot.dsp.stft import stft
from earshot.errors import ConfigError, ShapeError
from earshot.losses.style import _layer_weights, content_distance, style_distance
from earshot.losses.style_features import FeatureExtractor, feature_extractor
from earshot.validate import check_finite, check_sample_rate

METHODS = ("spectrogram", "waveform")


@dataclass
class TransferResult:
    """The output audio ``(1, samples)`` in [-1, 1] at ``sample_rate``, the loss history
    ``[(step, total, content, style)]``, the time taken and the fraction of samples clipped."""

    audio: torch.Tensor
    sample_rate: int
    history: list[tuple[int, float, float, float]] = field(default_factory=list)
    seconds: float = 0.0
    clipped: float = 0.0  # fraction of output samples that exceeded full scale and were clipped


@dataclass
class TransferSettings:
    """How hard to push: weights of the terms, optimiser and its budget."""

    content_weight: float = 1.0
    style_weight: float = 10.0
    regularizer: float = 1e-4
    steps: int = 200
    lr: float | None = None  # default: 0.05 (spectrogram), 1e-2 (waveform)
    optimizer: str = "adam"  # or "lbfgs"
    griffin_lim_iters: int = 64
    style_layers: list[str] | None = None
    content_layers: list[str] | None = None


def transfer(content: torch.Tensor | None, style: torch.Tensor, sample_rate: int, *, features="ae",
             method: str = "spectrogram", texture: bool = False, seconds: float | None = None,
             settings: TransferSettings | None = None, seed: int = 0, progress: bool = True) -> TransferResult:
    """Transfer the style of ``style`` onto ``content`` (both mono ``(1, samples)`` at ``sample_rate``).

    With ``texture=True`` the content may be None and ``seconds`` sets the output length.
    """
    s = settings or TransferSettings()
    sample_rate = check_sample_rate(sample_rate)
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    net = features if isinstance(features, FeatureExtractor) else feature_extractor(features, sample_rate=sample_rate, seed=seed)
    if method == "spectrogram" and not net.works_on_spectrograms:
        raise ConfigError(f"feature network {features!r} reads waveforms; use method='waveform'")
    style = _mono(style, "style")
    g = torch.Generator().manual_seed(seed)
    if content is None:
        if not texture:
            raise ConfigError("content is required unless texture=True")
        length = int(round((seconds or style.shape[-1] / sample_rate) * sample_rate))
        content = 0.01 * torch.randn(1, 1, length, generator=g)
    else:
        content = _mono(content, "content")
    style_w = _layer_weights(net, s.style_layers, None, net.style_layers)
    content_w = _layer_weights(net, s.content_layers, None, net.content_layers)
    start = time.perf_counter()
    run = _spectrogram_transfer if method == "spectrogram" else _waveform_transfer
    audio, history = run(net, content, style, style_w, content_w, s, texture, g, progress)
    # Clip rather than rescale: the features are level-dependent, so scaling a loud output down would
    # undo the style match; the few samples beyond full scale are counted in `clipped`.
    clipped = float((audio.abs() > 1).float().mean())
    return TransferResult(audio.detach().clamp(-1, 1).reshape(1, -1), sample_rate, history,
                          time.perf_counter() - start, clipped)


def _mono(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() == 1:
        x = x[None]
    if x.dim() != 2 or x.shape[0] != 1:
        raise ShapeError(f"{name} must be mono (1, samples), got {tuple(x.shape)}")
    check_finite(x, name)
    return x[None].float()


def _objective(feats, style_feats, content_feats, style_w, content_w, s, texture):
    style_term = style_distance(feats, style_feats, style_w).sum()
    content_term = torch.zeros(()) if texture else content_distance(feats, content_feats, content_w).sum()
    return s.content_weight * content_term + s.style_weight * style_term, content_term, style_term


def _optimise(param: torch.Tensor, closure_terms, s: TransferSettings, lr: float, project, progress: bool):
    """Run Adam or L-BFGS on ``param``; ``closure_terms()`` returns (total, content, style)."""
    history = []
    opt = (torch.optim.LBFGS([param], lr=1.0, max_iter=1, history_size=20) if s.optimizer == "lbfgs"
           else torch.optim.Adam([param], lr=lr))
    if s.optimizer not in ("adam", "lbfgs"):
        raise ConfigError(f"optimizer must be 'adam' or 'lbfgs', got {s.optimizer!r}")
    bar = tqdm(range(s.steps), desc="style transfer", unit="step", disable=not progress)
    for step in bar:
        def closure():
            opt.zero_grad()
            total, content, style = closure_terms()
            total.backward()
            closure.terms = (float(total.detach()), float(content.detach()), float(style.detach()))
            return total
        opt.step(closure)
        project()
        history.append((step, *closure.terms))
        bar.set_postfix(loss=f"{closure.terms[0]:.4f}", style=f"{closure.terms[2]:.4f}")
    return history


def _spectrogram_transfer(net, content, style, style_w, content_w, s, texture, g, progress):
    spec = net.spectrogram
    with torch.no_grad():
        style_feats = net.spectrogram_features(spec(style))
        content_spec = spec(content)
        content_feats = net.spectrogram_features(content_spec)
    init = content_spec.clone() if not texture else spec(content).mean() * torch.rand(content_spec.shape, generator=g)
    x = init.requires_grad_(True)

    def terms():
        total, c, st = _objective(net.spectrogram_features(x), style_feats, content_feats, style_w, content_w, s, texture)
        return total + s.regularizer * x.square().mean(), c, st

    history = _optimise(x, terms, s, s.lr or 0.05, lambda: x.data.clamp_(min=0), progress)
    magnitude = torch.expm1(x.detach()).unsqueeze(1)
    # Start phase retrieval from the content's phases: the spectrogram started as the content's.
    init = "random" if texture else torch.angle(stft(content, spec.n_fft, spec.hop_length, spec.window))
    audio = griffin_lim(magnitude, spec.n_fft, spec.hop_length, spec.window, n_iter=s.griffin_lim_iters,
                        length=content.shape[-1], init=init, generator=g)
    return audio, history


def _waveform_transfer(net, content, style, style_w, content_w, s, texture, g, progress):
    with torch.no_grad():
        style_feats = net.audio_features(style)
        content_feats = net.audio_features(content)
    x = content.clone().requires_grad_(True)

    def terms():
        total, c, st = _objective(net.audio_features(x), style_feats, content_feats, style_w, content_w, s, texture)
        return total + s.regularizer * x.square().mean(), c, st

    history = _optimise(x, terms, s, s.lr or 1e-2, lambda: x.data.clamp_(-1, 1), progress)
    return x.detach(), history
