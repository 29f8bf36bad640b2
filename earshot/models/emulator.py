"""Neural MP3 emulators: U-Nets trained to reproduce a real codec's output.

Ananthabhotla, Ewert, Paradiso, "Towards a Perceptual Loss: Using a Neural Network Codec
Approximation as a Loss for Generative Audio Models", ACM MM 2019.

Two networks, both taking a waveform ``(batch, 1, samples)`` at ``sample_rate`` (16 kHz by default):

- `SpectralEmulator` (the paper's C^S): a 2-D U-Net on the magnitude STFT (n_fft 1024, hop 512).
  It predicts the *normalised log magnitude* ``z`` of the codec's output: ``z = (dB - floor_db) /
  (top_db - floor_db)`` with ``dB`` relative to a full-scale sine, so ``z`` lies in [0, 1] and a
  sigmoid output is the natural range. The network's last layer is added to ``logit(z_input)``
  before the sigmoid, so an untrained net starts near the identity and learns what the codec
  changes (a residual in logit space: a soft mask that can both remove and add energy).
- `TimeEmulator` (the paper's C^T): an 8-level 1-D U-Net on the waveform (kernel-15 conv then
  decimation down, kernel-9 stride-2 transposed conv up, tanh output).

Both expose `features(x) -> EmulatorFeatures` with the output and the intermediate activations
by layer name (``enc1``..``encL``, ``bottleneck`` (time only), ``dec1``..), which `CodecLoss` uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from earshot.dsp.stft import magnitude, stft
from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_audio


@dataclass
class EmulatorFeatures:
    """An emulator's output and its intermediate activations.

    ``output``: spectral ``(batch, 1, freq, frames)`` normalised log magnitude in [0, 1], or time
    ``(batch, 1, samples)`` waveform; None when `features` stopped early (``output=False``).
    ``activations``: layer name -> tensor, in network order.
    """

    output: torch.Tensor | None
    activations: dict[str, torch.Tensor]


def _channels(base: int, level: int, max_filters: int | None) -> int:
    c = base * 2**level
    return min(c, max_filters) if max_filters else c


def _check_mono(x: torch.Tensor) -> torch.Tensor:
    check_audio(x, "input", finite=False)
    if x.shape[1] != 1:
        raise ShapeError(f"emulators take mono audio (batch, 1, samples), got {tuple(x.shape)}")
    return x



def _encode(blocks: nn.ModuleList, h: torch.Tensor, wanted: set[str], last: int, *, output: bool,
           between=None) -> tuple[torch.Tensor | None, dict[str, torch.Tensor], list[torch.Tensor]]:
    """The U-Net encoder both emulators share: run ``blocks`` on ``h``, keep each block's output
    as a skip, record ``enc<i>`` activations named in ``wanted``, apply ``between`` (e.g.
    decimation) after each block. Returns ``(h, activations, skips)``; ``h`` is None when
    ``output`` is False and block ``last`` (an index into the layer names) has been reached."""
    acts, skips = {}, []
    for i, block in enumerate(blocks):
        h = block(h)
        skips.append(h)
        if f"enc{i + 1}" in wanted:
            acts[f"enc{i + 1}"] = h
        if not output and i >= last:
            return None, acts, skips
        if between is not None:
            h = between(h)
    return h, acts, skips

class SpectralEmulator(nn.Module):
    """C^S: U-Net on the normalised log-magnitude STFT. Input ``(batch, 1, samples)`` at ``sample_rate``.

    ``levels`` stride-2 5x5 conv layers (BN, leaky ReLU) with ``base_filters * 2**i`` filters
    (capped at ``max_filters``), mirrored by stride-2 transposed convs (BN, ReLU, dropout on the
    first ``dropout_layers``) with skip connections. The STFT keeps the first ``n_fft // 2`` bins
    (the Nyquist bin copies its neighbour's prediction); frames are padded to a multiple of
    ``2**levels`` inside and cropped back. ``eps`` keeps the magnitude's gradient finite at
    silence; ``logit_eps`` bounds the input to the logit. ``frequency_channel`` adds a second
    input channel holding each bin's normalised frequency (0..1), so the convolutions know where
    in the spectrum they are (the codec's low-pass and band behaviour depend on frequency; the
    paper's network has only the magnitude channel).
    """

    def __init__(self, *, sample_rate: int = 16000, n_fft: int = 1024, hop_length: int = 512,
                 levels: int = 5, base_filters: int = 32, max_filters: int | None = None,
                 kernel_size: int = 5, dropout: float = 0.5, dropout_layers: int = 3,
                 floor_db: float = -100.0, top_db: float = 20.0, eps: float = 1e-8,
                 logit_eps: float = 1e-4, frequency_channel: bool = False):
        super().__init__()
        if (n_fft // 2) % 2**levels:
            raise ConfigError(f"n_fft // 2 = {n_fft // 2} must be divisible by 2**levels = {2**levels}")
        if not floor_db < top_db:
            raise ConfigError(f"floor_db ({floor_db}) must be below top_db ({top_db})")
        self.sample_rate, self.n_fft, self.hop_length, self.levels = sample_rate, n_fft, hop_length, levels
        self.floor_db, self.top_db, self.eps, self.logit_eps = floor_db, top_db, eps, logit_eps
        window = torch.hann_window(n_fft)
        self.register_buffer("window", window, persistent=False)
        self.ref = float(window.sum()) / 2  # magnitude of a full-scale sine
        pad = kernel_size // 2
        self.frequency_channel = frequency_channel
        self.register_buffer("position", torch.linspace(0, 1, n_fft // 2).reshape(1, 1, -1, 1), persistent=False)
        chans = [1] + [_channels(base_filters, i, max_filters) for i in range(levels)]
        first_in = 2 if frequency_channel else 1
        self.down = nn.ModuleList()
        for i in range(levels):
            self.down.append(nn.Sequential(
                nn.Conv2d(first_in if i == 0 else chans[i], chans[i + 1], kernel_size, stride=2, padding=pad),
                nn.BatchNorm2d(chans[i + 1]), nn.LeakyReLU(0.2)))
        self.up = nn.ModuleList()
        for j in range(levels):  # j = 0 is the deepest
            c_in = chans[levels] if j == 0 else 2 * chans[levels - j]
            c_out = 1 if j == levels - 1 else chans[levels - j - 1]
            conv = nn.ConvTranspose2d(c_in, c_out, kernel_size, stride=2, padding=pad, output_padding=1)
            if j == levels - 1:
                nn.init.zeros_(conv.weight)  # start as the identity: learn only the codec's change
                nn.init.zeros_(conv.bias)
                self.up.append(conv)
            else:
                drop = nn.Dropout2d(dropout) if j < dropout_layers else nn.Identity()
                self.up.append(nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU(), drop))

    @property
    def layer_names(self) -> list[str]:
        """Names of the activations in `features`, in network order."""
        return [f"enc{i + 1}" for i in range(self.levels)] + [f"dec{j + 1}" for j in range(self.levels - 1)]

    @property
    def encoder_layers(self) -> list[str]:
        return [f"enc{i + 1}" for i in range(self.levels)]

    def to_db(self, magnitude: torch.Tensor) -> torch.Tensor:
        amin = 10 ** (self.floor_db / 20)
        return 20 * torch.log10(magnitude / self.ref + amin)

    def normalize(self, magnitude: torch.Tensor) -> torch.Tensor:
        """Magnitude -> ``z = (dB - floor_db) / (top_db - floor_db)`` (0 at digital silence)."""
        return (self.to_db(magnitude) - self.floor_db) / (self.top_db - self.floor_db)

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        """Inverse of `normalize`: ``z`` -> magnitude (non-negative)."""
        db = z * (self.top_db - self.floor_db) + self.floor_db
        return ((10 ** (db / 20) - 10 ** (self.floor_db / 20)) * self.ref).clamp_min(0)

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, samples)`` -> magnitude STFT ``(batch, 1, n_fft // 2 + 1, frames)``."""
        _check_mono(x)
        spec = stft(x, self.n_fft, self.hop_length, self.window, pad_mode="constant")
        return magnitude(spec, eps=self.eps)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The domain the emulator predicts in: ``(batch, 1, samples)`` -> ``z (batch, 1, freq, frames)``."""
        return self.normalize(self.magnitude(x))

    def features(self, x: torch.Tensor, *, layers: list[str] | None = None,
                 output: bool = True) -> EmulatorFeatures:
        """Run on ``x (batch, 1, samples)``; keep ``layers`` (default all); skip work past them
        when ``output`` is False. Output ``(batch, 1, n_fft // 2 + 1, frames)`` in [0, 1]."""
        z = self.represent(x)
        frames = z.shape[-1]
        unit = 2**self.levels
        h = F.pad(z[:, :, : self.n_fft // 2], (0, -frames % unit))
        if self.frequency_channel:
            h = torch.cat([h, self.position.to(h.dtype).expand(h.shape[0], 1, -1, h.shape[-1])], dim=1)
        wanted = set(self.layer_names if layers is None else layers)
        last = max([self.layer_names.index(n) for n in wanted], default=-1)
        h, acts, skips = _encode(self.down, h, wanted, last, output=output)
        if h is None:
            return EmulatorFeatures(None, acts)
        for j, block in enumerate(self.up):
            if j > 0:
                h = torch.cat([h, skips[self.levels - 1 - j]], dim=1)
            h = block(h)
            name = f"dec{j + 1}"
            if name in wanted and j < self.levels - 1:
                acts[name] = h
            if not output and self.levels + j >= last:
                return EmulatorFeatures(None, acts)
        zin = z[:, :, : self.n_fft // 2].clamp(self.logit_eps, 1 - self.logit_eps)
        y = torch.sigmoid(h[..., :frames] + torch.logit(zin))
        y = torch.cat([y, y[:, :, -1:]], dim=2)
        return EmulatorFeatures(y, acts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, samples)`` -> predicted normalised log magnitude of the codec's output,
        ``(batch, 1, n_fft // 2 + 1, frames)`` in [0, 1] (see `denormalize`)."""
        return self.features(x, layers=[]).output

    def predict_magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, samples)`` -> predicted magnitude STFT of the codec's output."""
        return self.denormalize(self.forward(x))


class TimeEmulator(nn.Module):
    """C^T: Wave-U-Net style 1-D U-Net on the waveform. ``(batch, 1, samples)`` -> same shape.

    ``levels`` down blocks (conv kernel ``down_kernel``, leaky ReLU, then decimation by 2) with
    ``filters + growth * i`` channels, a bottleneck conv, ``levels`` up blocks (transposed conv
    kernel ``up_kernel`` stride 2, leaky ReLU, concat the skip, conv kernel 1 merge), and a
    1x1 conv whose output is added to ``atanh(input)`` before the tanh (zero-initialised, so an
    untrained net is the identity and learns the codec's change; ``atanh_eps`` bounds the input).
    The input is padded to a multiple of ``2**levels`` inside and cropped back.
    """

    def __init__(self, *, sample_rate: int = 16000, levels: int = 8, filters: int = 32, growth: int = 0,
                 down_kernel: int = 15, up_kernel: int = 9, atanh_eps: float = 1e-4):
        super().__init__()
        self.sample_rate, self.levels, self.atanh_eps = sample_rate, levels, atanh_eps
        chans = [1] + [filters + growth * i for i in range(levels + 1)]
        act = nn.LeakyReLU(0.2)
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv1d(chans[i], chans[i + 1], down_kernel, padding=down_kernel // 2), act)
            for i in range(levels))
        self.bottleneck = nn.Sequential(
            nn.Conv1d(chans[levels], chans[levels + 1], down_kernel, padding=down_kernel // 2), act)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for j in range(levels):
            c_in, c_skip = chans[levels + 1 - j], chans[levels - j]
            self.up.append(nn.Sequential(
                nn.ConvTranspose1d(c_in, c_skip, up_kernel, stride=2, padding=up_kernel // 2,
                                   output_padding=1), act))
            self.merge.append(nn.Sequential(nn.Conv1d(2 * c_skip, c_skip, 1), act))
        self.out = nn.Conv1d(chans[1], 1, 1)
        nn.init.zeros_(self.out.weight)  # start as the identity: learn only the codec's change
        nn.init.zeros_(self.out.bias)

    @property
    def layer_names(self) -> list[str]:
        return ([f"enc{i + 1}" for i in range(self.levels)] + ["bottleneck"]
                + [f"dec{j + 1}" for j in range(self.levels)])

    @property
    def encoder_layers(self) -> list[str]:
        return [f"enc{i + 1}" for i in range(self.levels)]

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The domain the emulator predicts in: the waveform itself."""
        return _check_mono(x)

    def features(self, x: torch.Tensor, *, layers: list[str] | None = None,
                 output: bool = True) -> EmulatorFeatures:
        """Run on ``x (batch, 1, samples)``; keep ``layers`` (default all); skip work past them
        when ``output`` is False. Output ``(batch, 1, samples)`` in (-1, 1)."""
        _check_mono(x)
        n = x.shape[-1]
        h = F.pad(x, (0, -n % 2**self.levels))
        wanted = set(self.layer_names if layers is None else layers)
        last = max([self.layer_names.index(name) for name in wanted], default=-1)
        h, acts, skips = _encode(self.down, h, wanted, last, output=output, between=lambda t: t[..., ::2])
        if h is None:
            return EmulatorFeatures(None, acts)
        h = self.bottleneck(h)
        if "bottleneck" in wanted:
            acts["bottleneck"] = h
        if not output and self.levels >= last:
            return EmulatorFeatures(None, acts)
        for j in range(self.levels):
            h = self.up[j](h)
            h = self.merge[j](torch.cat([h, skips[self.levels - 1 - j]], dim=1))
            if f"dec{j + 1}" in wanted:
                acts[f"dec{j + 1}"] = h
            if not output and self.levels + 1 + j >= last:
                return EmulatorFeatures(None, acts)
        xin = x.clamp(-1 + self.atanh_eps, 1 - self.atanh_eps)
        y = torch.tanh(self.out(h)[..., :n] + torch.atanh(xin))
        return EmulatorFeatures(y, acts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, samples)`` -> predicted codec output waveform, same shape."""
        return self.features(x, layers=[]).output


EMULATORS = {"spectral": SpectralEmulator, "time": TimeEmulator}



REFERENCE_LEVEL = 256.0  # |STFT| of a full-scale sine with a 1024-point Hann window


@dataclass
class EmulatorAccuracy:
    """How well an emulator reproduces a codec, per item ``(batch,)``.

    ``explained``: codec effect explained ``E = 1 - D(emu(x), codec(x)) / D(x, codec(x))`` with
    ``D`` the log-mel L1 distance in dB (``mel_emulated``, ``mel_input``); 1 is perfect, 0 is no
    better than the input itself. ``lsd_emulated`` / ``lsd_input``: log-spectral distance (dB,
    RMS over bins, mean over frames) of emu(x) / x to codec(x).
    """

    explained: torch.Tensor
    mel_emulated: torch.Tensor
    mel_input: torch.Tensor
    lsd_emulated: torch.Tensor
    lsd_input: torch.Tensor


def log_mel_db(magnitude: torch.Tensor, filterbank: torch.Tensor, *, ref: float, floor_db: float = -100.0) -> torch.Tensor:
    """Magnitude STFT ``(batch, 1, freq, frames)`` -> mel power in dB re ``ref`` ``(batch, 1, mels, frames)``,
    floored smoothly at ``floor_db`` (``10 log10(mel / ref**2 + 10**(floor_db / 10))``)."""
    mel = torch.einsum("mf,bcft->bcmt", filterbank, magnitude.square() / ref**2)
    return 10 * torch.log10(mel + 10 ** (floor_db / 10))


def emulated_magnitude(emulator: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Magnitude STFT of the emulated codec output, ``(batch, 1, 513, frames)`` (n_fft 1024, hop 512)."""
    if isinstance(emulator, SpectralEmulator):
        return emulator.predict_magnitude(x)
    return reference_magnitude(emulator(x))


def reference_magnitude(x: torch.Tensor, *, eps: float = 1e-12) -> torch.Tensor:
    """The accuracy measure's spectrum: ``(batch, 1, samples)`` -> Hann STFT magnitude
    ``(batch, 1, 513, frames)`` (n_fft 1024, hop 512, zero-padded centring, as C^S uses)."""
    window = torch.hann_window(1024, device=x.device, dtype=x.dtype)
    return magnitude(stft(x, 1024, 512, window, pad_mode="constant"), eps=eps)


@torch.no_grad()
def emulator_accuracy(emulator: nn.Module, x: torch.Tensor, coded: torch.Tensor, *, n_mels: int = 80,
                      floor_db: float = -100.0) -> EmulatorAccuracy:
    """Accuracy of ``emulator`` on clean ``x`` and real codec output ``coded``, both
    ``(batch, 1, samples)`` at the emulator's sample rate. Spectra: Hann STFT n_fft 1024, hop 512;
    ``n_mels`` Slaney mel bands; levels in dB re a full-scale sine, floored at ``floor_db``."""
    from earshot.dsp.mel import mel_filterbank

    fb = mel_filterbank(sample_rate=emulator.sample_rate, n_fft=1024, n_mels=n_mels).to(x)
    ref = REFERENCE_LEVEL
    mags = [emulated_magnitude(emulator, x), reference_magnitude(x), reference_magnitude(coded)]
    emu, inp, cod = (log_mel_db(m, fb, ref=ref, floor_db=floor_db) for m in mags)
    d_emu = (emu - cod).abs().mean(dim=(1, 2, 3))
    d_inp = (inp - cod).abs().mean(dim=(1, 2, 3))
    explained = 1 - d_emu / d_inp.clamp_min(1e-6)
    amin = 10 ** (floor_db / 20)
    e, i, c = (20 * torch.log10(m / ref + amin) for m in mags)
    lsd = lambda a, b: (a - b).square().mean(dim=2).sqrt().mean(dim=(1, 2))  # noqa: E731
    return EmulatorAccuracy(explained, d_emu, d_inp, lsd(e, c), lsd(i, c))
