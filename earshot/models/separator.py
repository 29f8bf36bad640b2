"""U-Net source separator (Stoller, Ewert & Dixon, ICASSP 2018) and its user-facing wrapper.

Two layers, as in Open-Unmix:

- :class:`UNetSeparator`, the spectrogram model: ``log1p|X|`` of a mono mixture ``(B, 1, F, N)``
  -> estimated ``log1p|S_k|`` of ``K`` sources ``(B, K, F, N)``. A U-Net of ``depth`` levels
  (3x3 convs, ``channels`` filters doubling per level, 2x2 max-pool down, stride-2 transposed
  convs up, crop-and-concat skips) with one 1x1 head per source. ``kind="direct"`` (the paper)
  predicts log-magnitudes; ``kind="mask"`` predicts a sigmoid mask applied to ``|X|``.
  Paper defaults: 8192 Hz, STFT n_fft 512 / hop 256 (Hann), 16 filters, 4 levels.
- :class:`Separator`, waveforms in, waveforms out: ``(B, C, T)`` -> ``(B, K, C, T)`` at the
  model's sample rate (channels are separated independently), resynthesised with the mixture
  phase, optionally refined by Wiener-style soft masks, processed in chunks of frames with
  enough context that the result equals whole-file processing (to float rounding) while the
  network's memory stays bounded by the chunk size.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from earshot.dsp.stft import STFT, center_pad
from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_audio, check_sample_rate

SOURCES = ("vocals", "accompaniment")
KINDS = ("direct", "mask")
PADDINGS = ("same", "valid")


def center_crop(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Crop the last two axes of ``x`` to ``size`` (centred; no-op where already that small)."""
    h, w = x.shape[-2:]
    th, tw = min(h, size[0]), min(w, size[1])
    top, left = (h - th) // 2, (w - tw) // 2
    return x[..., top:top + th, left:left + tw]


def _block(cin: int, cout: int, padding: int, slope: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=padding), nn.LeakyReLU(slope),
                         nn.Conv2d(cout, cout, 3, padding=padding), nn.LeakyReLU(slope))


class UNet(nn.Module):
    """U-Net body: ``(B, in_channels, H, W)`` -> ``(B, channels, H', W')``.

    ``depth`` max-pool levels, two 3x3 convs (LeakyReLU ``slope``) per level with ``channels *
    2**level`` filters, a bottleneck of ``channels * 2**depth``, stride-2 transposed convs up and
    skips centre-cropped to the upsampled size, then concatenated. ``padding="same"``: H' = H and
    W' = W when both are multiples of ``2**depth``; ``"valid"``: unpadded convs, the output is
    smaller (see :meth:`valid_input_size`).
    """

    def __init__(self, in_channels: int = 1, channels: int = 16, depth: int = 4, *,
                 padding: str = "same", slope: float = 0.2):
        super().__init__()
        if padding not in PADDINGS:
            raise ConfigError(f"padding must be one of {PADDINGS}, got {padding!r}")
        if depth < 1 or channels < 1:
            raise ConfigError(f"depth and channels must be >= 1, got depth={depth}, channels={channels}")
        self.depth, self.padding = depth, padding
        pad = 1 if padding == "same" else 0
        widths = [channels * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList(_block(in_channels if i == 0 else widths[i - 1], widths[i], pad, slope)
                                  for i in range(depth))
        self.bottom = _block(widths[depth - 1], widths[depth], pad, slope)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                for i in reversed(range(depth)))
        self.up_blocks = nn.ModuleList(_block(2 * widths[i], widths[i], pad, slope) for i in reversed(range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, block, skip in zip(self.up, self.up_blocks, reversed(skips)):
            x = up(x)
            skip = center_crop(skip, x.shape[-2:])  # crop-and-concat
            x = block(torch.cat([skip, center_crop(x, skip.shape[-2:])], dim=1))
        return x

    def valid_input_size(self, output: int) -> tuple[int, int]:
        """``(input, output')`` sizes along one axis in valid mode: the smallest ``output' >=
        output`` the network can produce exactly, and the input size that produces it."""
        o = max(1, output)
        while True:
            s, ok = o, True
            for _ in range(self.depth):       # up path, backwards: block (-4), transposed conv (x2)
                s += 4
                if s % 2:
                    ok = False
                    break
                s //= 2
            if ok:
                s += 4                        # bottleneck
                for _ in range(self.depth):   # down path, backwards: pool (/2), block (-4)
                    s = 2 * s + 4
                return s, o
            o += 1

    def context(self) -> int:
        """How far (in input positions) an output can depend on the input, an upper bound."""
        if self.padding == "valid":  # half the size reduction, plus the pooling grid (2**l per level)
            i, o = self.valid_input_size(1)
            return (i - o) // 2 + 2 ** self.depth - 1
        # per level: 2 convs down, the pool, the transposed conv, 2 convs up; 2 convs at the bottom
        return 6 * (2 ** self.depth - 1) + 2 * 2 ** self.depth


class SpectrogramSeparator(nn.Module):
    """Base of the spectrogram separators: the STFT of a mono mixture at ``sample_rate``, its
    ``log1p|X|`` features, and resynthesis of the estimated sources with the mixture phase.

    A subclass maps features ``(B, 1, F, N)`` to estimated ``log1p|S_k|`` ``(B, K, F, N)`` in
    ``forward``; ``F = n_fft // 2 + 1``.
    """

    def __init__(self, sources: Sequence[str], sample_rate: int, n_fft: int, hop_length: int):
        super().__init__()
        if not sources or len(set(sources)) != len(sources):
            raise ConfigError(f"sources must be distinct names, got {sources!r}")
        self.sources = tuple(sources)
        self.sample_rate = check_sample_rate(sample_rate)
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        self.stft = STFT(n_fft, hop_length, window="hann")

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``(B, 1, F, N)`` of mono audio ``(B, 1, T)`` at ``sample_rate``."""
        check_audio(audio, "audio")
        if audio.shape[1] != 1:
            raise ShapeError(f"the separator takes mono audio (B, 1, T), got {tuple(audio.shape)}")
        return self.stft(audio)

    @staticmethod
    def features(spec: torch.Tensor) -> torch.Tensor:
        """The network input ``log1p|X|`` of a complex spectrogram (same shape, real)."""
        return torch.log1p(spec.abs())

    @staticmethod
    def magnitudes(estimates: torch.Tensor) -> torch.Tensor:
        """Magnitudes ``expm1(max(estimate, 0))`` from log-magnitude estimates (any shape)."""
        return torch.expm1(estimates.clamp_min(0))

    def separate_spectrogram(self, spec: torch.Tensor, *, wiener_iterations: int = 0,
                             eps: float = 1e-8) -> torch.Tensor:
        """Complex source spectrograms ``(B, K, F, N)`` from the mixture's ``(B, 1, F, N)``
        (differentiable): magnitudes from the network, phase of the mixture (see :func:`wiener`)."""
        mags = self.magnitudes(self(self.features(spec)))
        return wiener(mags, spec, iterations=wiener_iterations, eps=eps)

    def resynthesize(self, source_specs: torch.Tensor, length: int) -> torch.Tensor:
        """Inverse STFT of ``(B, K, F, N)`` source spectrograms -> ``(B, K, length)`` audio."""
        return self.stft.inverse(source_specs, length=length)

    def separate(self, audio: torch.Tensor, *, wiener_iterations: int = 0) -> torch.Tensor:
        """Mono mixtures ``(B, 1, T)`` -> sources ``(B, K, T)``, the whole signal at once."""
        spec = self.spectrogram(audio)
        return self.resynthesize(self.separate_spectrogram(spec, wiener_iterations=wiener_iterations),
                                 audio.shape[-1])


class UNetSeparator(SpectrogramSeparator):
    """Spectrogram separator: ``log1p|X|`` ``(B, 1, F, N)`` -> ``log1p|S_k|`` ``(B, K, F, N)``.

    ``F = n_fft // 2 + 1`` bins and ``N`` frames of the mixture's STFT at ``sample_rate`` (see
    :meth:`spectrogram`). Sources are named by ``sources`` (default vocals, accompaniment).

    Args:
        kind: ``"direct"`` (linear heads predict the log-magnitudes, as the paper; they may dip
            below 0 during training, which keeps gradients alive, and magnitudes are formed from
            ``max(estimate, 0)``) or ``"mask"`` (sigmoid heads give masks ``M_k``; the estimate is
            ``log1p(M_k |X|)``).
        padding: ``"same"`` (inputs zero-padded to multiples of ``2**depth``) or ``"valid"``
            (unpadded convs; the input is zero-padded by the network's context instead).
        input_skip: concatenate the input features to the last feature map before the heads
            (as the paper's code does; helps direct estimates).
    """

    def __init__(self, sources: Sequence[str] = SOURCES, *, sample_rate: int = 8192, n_fft: int = 512,
                 hop_length: int = 256, channels: int = 16, depth: int = 4, kind: str = "direct",
                 padding: str = "same", slope: float = 0.2, input_skip: bool = True):
        super().__init__(sources, sample_rate, n_fft, hop_length)
        if kind not in KINDS:
            raise ConfigError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.unet = UNet(1, channels, depth, padding=padding, slope=slope)
        self.input_skip = bool(input_skip)
        self.heads = nn.ModuleList(nn.Conv2d(channels + self.input_skip, 1, 1) for _ in self.sources)

    @property
    def context_frames(self) -> int:
        """Frames of context on each side that make a chunk's output equal the whole file's:
        the network's context rounded up to a multiple of ``2**depth`` (pooling alignment)."""
        m = 2 ** self.unet.depth
        return m * math.ceil(self.unet.context() / m)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-pad features so that the U-Net's output covers every bin and frame: up to
        multiples of ``2**depth`` (same), or by the context on each side (valid)."""
        f, n = x.shape[-2:]
        if self.unet.padding == "same":
            m = 2 ** self.unet.depth
            return F.pad(x, (0, -n % m, 0, -f % m))
        (fi, fo), (ni, no) = self.unet.valid_input_size(f), self.unet.valid_input_size(n)
        off = (ni - no) // 2                             # the output is centred in the input
        return F.pad(x, (off, ni - n - off, off, fi - f - off))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``log1p|X|`` ``(B, 1, F, N)`` -> estimated ``log1p|S_k|`` ``(B, K, F, N)``."""
        if features.dim() != 4 or features.shape[1] != 1:
            raise ShapeError(f"features must be (batch, 1, freq, frames), got {tuple(features.shape)}")
        f, n = features.shape[-2:]
        padded = self._pad(features)
        h = self.unet(padded)
        if self.input_skip:
            h = torch.cat([h, center_crop(padded, h.shape[-2:])], dim=1)
        out = torch.cat([head(h[..., :f, :n]) for head in self.heads], dim=1)
        if self.kind == "direct":
            return out
        return torch.log1p(torch.sigmoid(out) * torch.expm1(features))


def wiener(mags: torch.Tensor, mix_spec: torch.Tensor, *, iterations: int = 0, power: float = 2.0,
           eps: float = 1e-8) -> torch.Tensor:
    """Complex source estimates ``(B, K, F, N)`` from magnitudes ``(B, K, F, N)`` and the mixture
    STFT ``(B, 1, F, N)``, all with the mixture's phase.

    ``iterations=0``: ``|S_k| e^{i angle X}`` (the magnitudes as estimated). ``>= 1``: soft masks
    ``(V_k^p + eps/K) / (sum_j V_j^p + eps)`` times ``X`` (single-channel Wiener filter for
    ``p = 2``; bins where every estimate is 0 are shared equally); each further iteration
    re-estimates ``V_k`` from the filtered sources. The masked estimates add up to the mixture.
    """
    if iterations <= 0:
        return mags * torch.polar(torch.ones_like(mix_spec.abs()), mix_spec.angle())
    est = mags
    for _ in range(iterations):
        p = est.pow(power) + eps / est.shape[1]
        out = p / p.sum(dim=1, keepdim=True) * mix_spec
        est = out.abs()
    return out


class Separator(nn.Module):
    """Waveforms in, separated waveforms out: ``(B, C, T)`` -> ``(B, K, C, T)`` at ``sample_rate``.

    Channels are separated independently by the mono ``model``. The STFT of the whole signal is
    taken chunk by chunk (``chunk_frames`` frames plus ``context_frames`` of context each side;
    the context defaults to the model's :attr:`~UNetSeparator.context_frames`, which makes the
    result equal to whole-file processing to float rounding); only the waveforms are kept whole.
    ``chunk_frames=None`` processes the whole signal at once. ``progress`` shows a bar per call.
    The default 768 frames (24 s at 8192 Hz) plus 2 x 128 frames of context make 1024-frame
    network inputs, a size the CPU convolutions handle efficiently (768-wide inputs ran 2x
    slower per frame in our measurements).

    Args:
        wiener_iterations: 0 = mixture phase on the estimated magnitudes; >= 1 Wiener-style
            soft masks (estimates then add up to the mixture), see :func:`wiener`.
    """

    def __init__(self, model: UNetSeparator, *, wiener_iterations: int = 0, chunk_frames: int | None = 768,
                 context_frames: int | None = None, eps: float = 1e-8, progress: bool = False):
        super().__init__()
        self.model = model
        self.wiener_iterations, self.eps, self.progress = wiener_iterations, eps, progress
        m = 2 ** model.unet.depth
        if chunk_frames is not None and (chunk_frames < m or chunk_frames % m):
            raise ConfigError(f"chunk_frames must be a positive multiple of {m}, got {chunk_frames}")
        context = model.context_frames if context_frames is None else int(context_frames)
        if context < 0 or context % m:
            raise ConfigError(f"context_frames must be a non-negative multiple of {m}, got {context_frames}")
        self.chunk_frames, self.context_frames = chunk_frames, context

    @classmethod
    def from_pretrained(cls, name: str = "separator-speech-music", **kwargs) -> "Separator":
        """A Separator around shipped weights ``name`` (see :func:`earshot.weights.load_pretrained`)."""
        from earshot.weights import load_pretrained

        model = load_pretrained(name)
        if not isinstance(model, UNetSeparator):
            raise ConfigError(f"weights {name!r} are a {type(model).__name__}, not a UNetSeparator")
        return cls(model, **kwargs).eval()

    @property
    def sample_rate(self) -> int:
        return self.model.sample_rate

    @property
    def sources(self) -> tuple[str, ...]:
        return self.model.sources

    def chunks(self, frames: int) -> list[tuple[int, int, int, int]]:
        """``(a, s, e, b)`` per chunk: output frames ``[s, e)`` computed from input frames ``[a, b)``."""
        size = self.chunk_frames or frames
        out = []
        for s in range(0, frames, size):
            e = min(frames, s + size)
            out.append((max(0, s - self.context_frames), s, e, min(frames, e + self.context_frames)))
        return out

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Separate ``audio`` ``(B, C, T)`` at :attr:`sample_rate` -> ``(B, K, C, T)``."""
        check_audio(audio, "audio")
        b, c, t = audio.shape
        stft = self.model.stft
        n_fft, hop, window = stft.n_fft, stft.hop_length, stft.window
        x = center_pad(audio.reshape(b * c, t), n_fft)     # (BC, T + n_fft): frame f starts at f * hop
        frames = 1 + t // hop
        k = len(self.model.sources)
        out = audio.new_zeros(b * c, k, x.shape[-1])
        env = audio.new_zeros(x.shape[-1])
        from tqdm import tqdm

        for a, s, e, bnd in tqdm(self.chunks(frames), desc="separating", unit="chunk", leave=False,
                                 disable=not self.progress):
            piece = x[:, a * hop:(bnd - 1) * hop + n_fft]
            spec = torch.stft(piece, n_fft, hop, window=window, center=False, return_complex=True)[:, None]
            est = self.model.separate_spectrogram(spec, wiener_iterations=self.wiener_iterations, eps=self.eps)
            est = est[..., s - a:e - a]                    # (BC, K, F, e - s)
            seg = torch.fft.irfft(est, n=n_fft, dim=-2) * window[:, None]   # (BC, K, n_fft, e - s)
            span = (e - s - 1) * hop + n_fft
            fold = F.fold(seg.reshape(b * c * k, n_fft, e - s), (1, span), (1, n_fft), stride=(1, hop))
            out[..., s * hop:s * hop + span] += fold.reshape(b * c, k, span)
            wsq = window.square()[None, :, None].expand(1, n_fft, e - s)
            env[s * hop:s * hop + span] += F.fold(wsq, (1, span), (1, n_fft), stride=(1, hop)).reshape(span)
        half = n_fft // 2
        y = out[..., half:half + t] / env[half:half + t].clamp_min(1e-11)
        return y.reshape(b, c, k, t).transpose(1, 2).contiguous()


__all__ = ["SOURCES", "Separator", "SpectrogramSeparator", "UNet", "UNetSeparator", "center_crop", "wiener"]
