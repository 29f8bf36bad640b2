"""A DPAM-style network that learns just-noticeable differences from same/different judgments.

Baseline (Manocha et al., Interspeech 2020): a waveform encoder of 14 convolutions (kernel 3,
stride 2, 32/64/128 channels, leaky ReLU 0.2, normalisation); the distance between two clips
is the sum over layers ``l`` of ``mean_{c,t} |w_{l,c} * (phi_l(x) - phi_l(y))|`` with learned
per-channel weights ``w``; a small head maps the distance to P(different): DPAM's is
``sigmoid(d) -> 16 -> 6 -> 2`` trained with cross-entropy.

What this version adds (each can be switched off to get the baseline back):

- ``spectral=True``: a log-mel branch (its per-band log power and a few convolutions over
  frames) whose layers join the same weighted sum; it hears colouration and band-limited noise
  that a strided waveform stack resolves poorly.
- x and y always pass through the encoder as ONE batch, so batch normalisation in training
  treats both sides alike and identical inputs give distance 0 in training and eval mode; in
  eval mode (always, inside `earshot.losses.JNDLoss`) the running statistics are used.
- ``head="monotone"``: ``logit P(different) = softplus(a) * log(d + eps) + b``, monotone in the
  distance and calibrated by logistic regression; ``head="dpam"`` is the paper's MLP.
- ``antialias=True``: a fixed binomial low-pass ``[1, 4, 6, 4, 1] / 16`` before every strided
  convolution (as in Zhang, "Making convolutional networks shift-invariant again", 2019). Without
  it the stack aliases, and its gradient with respect to the input -- what a training loss
  hands the model -- sits mostly above a quarter of the sample rate whatever the error; with
  it the gradient follows the error's spectrum. (It did not train a better denoiser: docs/jnd.md,
  "Retraining the network for the artefacts".)

Inputs are mono ``(batch, 1, samples)`` at ``sample_rate`` (16 kHz by default); resampling and
channel folding are the loss's job. Clips shorter than ``min_samples`` are zero-padded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from earshot.dsp.mel import MelSpectrogram
from earshot.errors import ConfigError, ShapeError

HEADS = ("monotone", "dpam")
BRANCHES = ("all", "spectral", "waveform")  # feature layers a distance may use


@dataclass
class JNDOutput:
    """Per-item ``(batch,)`` distance and the logit and probability that a listener hears a difference."""

    distance: torch.Tensor
    logit: torch.Tensor
    p_different: torch.Tensor


def dpam_channels(layers: int, widths: tuple[int, ...] = (32, 64, 128)) -> list[int]:
    """DPAM's channel schedule: ``layers`` split into ``len(widths)`` nearly equal groups."""
    groups = len(widths)
    return [widths[min(i * groups // layers, groups - 1)] for i in range(layers)]


class _Blur(nn.Module):
    """Fixed binomial low-pass ``[1, 4, 6, 4, 1] / 16`` per channel: ``(batch, channels, T)`` -> same shape."""

    def __init__(self, channels: int):
        super().__init__()
        taps = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
        self.register_buffer("taps", taps.repeat(channels, 1, 1), persistent=False)  # (channels, 1, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(F.pad(x, (2, 2), mode="replicate"), self.taps, groups=x.shape[1])


class _ConvStack(nn.Module):
    """[blur ->] Conv1d -> norm -> leaky ReLU blocks; returns every block's activation."""

    def __init__(self, in_ch: int, channels: list[int], *, stride: int, kernel_size: int, slope: float, norm: str,
                 antialias: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList()
        for out_ch in channels:
            conv = nn.Conv1d(in_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2, bias=norm == "none")
            layers = [_Blur(in_ch), conv] if antialias and stride > 1 else [conv]
            if norm == "batch":
                layers.append(nn.BatchNorm1d(out_ch))
            elif norm == "group":
                layers.append(nn.GroupNorm(1, out_ch))
            layers.append(nn.LeakyReLU(slope))
            self.blocks.append(nn.Sequential(*layers))
            in_ch = out_ch

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class JNDNet(nn.Module):
    """Learned JND distance: ``(batch, 1, samples)`` pairs at ``sample_rate`` -> `JNDOutput`.

    Args:
        sample_rate: rate of the inputs in Hz (the spectral branch's mel scale depends on it).
        layers: waveform convolutions (DPAM: 14), each stride 2.
        widths: channel widths of the layer groups (DPAM: 32/64/128).
        kernel_size, negative_slope: DPAM's 3 and 0.2.
        norm: "batch" (DPAM), "group" or "none".
        spectral: add the log-mel branch; n_fft, hop_length, n_mels, spec_layers, spec_channels set it.
        log_eps: floor of the mel power before the log.
        head: "monotone" or "dpam"; head_eps: the epsilon in ``log(d + head_eps)``.
        min_samples: shorter inputs are zero-padded to this length.
        antialias: low-pass before every strided waveform convolution (see the module docstring).
    """

    def __init__(self, *, sample_rate: int = 16000, layers: int = 14, widths: tuple[int, ...] | list[int] = (32, 64, 128),
                 kernel_size: int = 3, negative_slope: float = 0.2, norm: str = "batch", spectral: bool = True,
                 n_fft: int = 512, hop_length: int = 128, n_mels: int = 64, spec_layers: int = 3,
                 spec_channels: int = 64, log_eps: float = 1e-6, head: str = "monotone", head_eps: float = 1e-4,
                 min_samples: int = 1024, antialias: bool = False):
        super().__init__()
        if head not in HEADS:
            raise ConfigError(f"head must be one of {HEADS}, got {head!r}")
        if norm not in ("batch", "group", "none"):
            raise ConfigError(f"norm must be 'batch', 'group' or 'none', got {norm!r}")
        self.sample_rate, self.head_type = int(sample_rate), head
        self.log_eps, self.head_eps, self.min_samples = float(log_eps), float(head_eps), int(max(min_samples, n_fft))
        chans = dpam_channels(layers, tuple(widths))
        opts = dict(kernel_size=kernel_size, slope=negative_slope, norm=norm)
        self.wave = _ConvStack(1, chans, stride=2, antialias=antialias, **opts)
        widths_all = list(chans)
        self.mel = None
        if spectral:
            self.mel = MelSpectrogram(sample_rate, n_fft, hop_length, n_mels=n_mels, power=2.0, eps=0.0)
            self.spec = _ConvStack(n_mels, [spec_channels] * spec_layers, stride=1, **opts)
            widths_all = widths_all + [n_mels] + [spec_channels] * spec_layers
        # per-channel weights of every feature layer (|w| is used, so the sign is irrelevant)
        self.weights = nn.ParameterList([nn.Parameter(torch.full((c,), 1.0 / len(widths_all))) for c in widths_all])
        if head == "monotone":
            self.head_scale = nn.Parameter(torch.tensor(1.0))
            self.head_bias = nn.Parameter(torch.tensor(2.0))
        else:
            self.head = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 6), nn.LeakyReLU(0.2), nn.Linear(6, 2))

    def features(self, x: torch.Tensor, branch: str = "all") -> list[torch.Tensor]:
        """Feature layers of ``x`` ``(batch, 1, samples)``: a list of ``(batch, channels, frames)``.

        ``branch``: ``"all"`` (waveform layers, then the log-mel layer and the spectral
        convolutions), ``"waveform"`` or ``"spectral"`` (only that branch is computed).
        """
        if x.dim() != 3 or x.shape[1] != 1:
            raise ShapeError(f"JNDNet takes mono (batch, 1, samples) audio, got {tuple(x.shape)}")
        self.check_branch(branch)
        if x.shape[-1] < self.min_samples:
            x = F.pad(x, (0, self.min_samples - x.shape[-1]))
        feats = self.wave(x) if branch != "spectral" else []
        if self.mel is not None and branch != "waveform":
            logmel = torch.log10(self.mel(x)[:, 0] + self.log_eps)  # (batch, n_mels, frames)
            feats = feats + [logmel] + self.spec(logmel)
        return feats

    def check_branch(self, branch: str) -> None:
        """ConfigError unless ``branch`` is one of `BRANCHES` and this network has it."""
        if branch not in BRANCHES:
            raise ConfigError(f"branch must be one of {BRANCHES}, got {branch!r}")
        if branch == "spectral" and self.mel is None:
            raise ConfigError("branch='spectral' needs a network with the log-mel branch (spectral=True)")

    def distance(self, x: torch.Tensor, y: torch.Tensor, branch: str = "all") -> torch.Tensor:
        """``(batch,)`` learned distance between ``x`` and ``y`` (both ``(batch, 1, samples)``); 0 if equal.

        ``branch`` restricts the sum to one branch's layers (see `features`); the calibrated head
        is fitted to the whole sum, so only ``"all"`` gives distances `logit` maps to P(different).
        """
        if x.shape != y.shape:
            raise ShapeError(f"x shape {tuple(x.shape)} does not match y shape {tuple(y.shape)}")
        n = x.shape[0]
        feats = self.features(torch.cat([x, y], 0), branch)  # one batch: normalisation sees both sides alike
        weights = list(self.weights)
        weights = weights[len(self.wave.blocks):] if branch == "spectral" else weights[:len(feats)]
        total = x.new_zeros(n)
        for w, f in zip(weights, feats):
            diff = (f[:n] - f[n:]).abs() * w.abs()[None, :, None]
            total = total + diff.mean(dim=(1, 2))
        return total

    def logit(self, distance: torch.Tensor) -> torch.Tensor:
        """``(batch,)`` logit of P(different) from ``(batch,)`` distances."""
        if self.head_type == "monotone":
            return F.softplus(self.head_scale) * torch.log(distance + self.head_eps) + self.head_bias
        out = self.head(torch.sigmoid(distance)[:, None])
        return out[:, 1] - out[:, 0]

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> JNDOutput:
        d = self.distance(x, y)
        logit = self.logit(d)
        return JNDOutput(distance=d, logit=logit, p_different=torch.sigmoid(logit))
