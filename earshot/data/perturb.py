"""Perturbations: each draws its parameters in one seeded step and applies them in another.

Every perturbation maps a ``strength`` in [0, 1] to its physical parameter on a log scale (as
DPAM did): 0 is barely audible, 1 is severe. ``sample(strength, rng)`` returns a JSON-ready dict
of parameters (save it with the data); ``apply(audio, sample_rate, params)`` is deterministic.

>>> p = PERTURBATIONS["pink"]()
>>> params = p.sample(0.5, np.random.default_rng(0))      # {'type': 'pink', 'snr_db': 25.0, ...}
>>> noisy = p.apply(clean, 16000, params)                  # (C, T) -> (C, T)

Types: white pink brown blue violet babble environment (additive noise at an SNR), reverb
(synthetic room impulse responses with RT60 and DRR, or your RIR files), mp3 opus (real codecs
at a bitrate), mulaw bitdepth (quantisation), eq (3-band, as DPAM), lowpass highpass, clip,
griffinlim (phase lost and re-estimated), denoised (a denoiser's residual and musical noise),
smear (an autoencoder's spectral blur), chain (several of the above).
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import torch
from scipy.signal import butter, fftconvolve, sosfiltfilt

from earshot.audio import codecs
from earshot.audio.io import load
from earshot.data.mixing import mix_at_snr
from earshot.data.sources import noise as noise_src
from earshot.dsp.griffinlim import griffin_lim
from earshot.dsp.stft import istft, make_window, stft
from earshot.errors import ConfigError, ShapeError
from earshot.registry import Registry
from earshot.validate import check_finite, check_sample_rate


def log_map(strength: float, at_zero: float, at_one: float) -> float:
    """Geometric interpolation: ``at_zero * (at_one / at_zero) ** strength``."""
    return float(at_zero * (at_one / at_zero) ** strength)


def lin_map(strength: float, at_zero: float, at_one: float) -> float:
    """Linear interpolation, for parameters already in decibels (a log unit)."""
    return float(at_zero + (at_one - at_zero) * strength)


class Perturbation:
    """Base class. Subclasses set ``name`` and implement ``_sample`` and ``_apply``."""

    name = "identity"

    def sample(self, strength: float, rng: np.random.Generator) -> dict:
        """Draw parameters for ``strength`` in [0, 1] from ``rng``; returns a JSON-ready dict."""
        strength = float(strength)
        if not 0.0 <= strength <= 1.0:
            raise ConfigError(f"{self.name}: strength must be in [0, 1], got {strength!r}")
        return {"type": self.name, "strength": round(strength, 6), **self._sample(strength, rng)}

    def apply(self, audio: torch.Tensor, sample_rate: int, params: dict) -> torch.Tensor:
        """Apply ``params`` to ``audio`` ``(channels, samples)`` at ``sample_rate`` -> same shape."""
        sample_rate = check_sample_rate(sample_rate)
        if not isinstance(audio, torch.Tensor) or audio.dim() != 2 or audio.shape[-1] == 0:
            raise ShapeError(f"{self.name}: audio must be a (channels, samples) tensor, got "
                             f"{tuple(audio.shape) if isinstance(audio, torch.Tensor) else type(audio).__name__}")
        check_finite(audio, "audio")
        if params.get("type") != self.name:
            raise ConfigError(f"params are for {params.get('type')!r}, not {self.name!r}")
        x = audio.detach().cpu().double().numpy()
        y = np.asarray(self._apply(x, sample_rate, params), dtype=np.float64)
        return torch.from_numpy(np.nan_to_num(y).astype(np.float32)).to(audio.device)

    def __call__(self, audio, sample_rate, strength, rng) -> tuple[torch.Tensor, dict]:
        params = self.sample(strength, rng)
        return self.apply(audio, sample_rate, params), params

    def _sample(self, strength, rng) -> dict:
        return {}

    def _apply(self, x, sample_rate, params):
        return x


# ---------------------------------------------------------------------------- additive noise

class AdditiveNoise(Perturbation):
    """Noise added at an SNR (dB) from ``snr_at_zero`` (strength 0) to ``snr_at_one`` (1).

    The noise level follows the signal's RMS, floored at ``floor_rms`` so silence gets noise too.
    """

    def __init__(self, *, snr_at_zero: float = 50.0, snr_at_one: float = -5.0, floor_rms: float = 1e-3):
        self.snr_at_zero, self.snr_at_one, self.floor_rms = snr_at_zero, snr_at_one, floor_rms

    def _sample(self, strength, rng):
        return {"snr_db": round(lin_map(strength, self.snr_at_zero, self.snr_at_one), 4),
                "seed": int(rng.integers(2**31 - 1)), **self._sample_source(rng)}

    def _sample_source(self, rng) -> dict:
        return {}

    def _noise(self, n, channels, sample_rate, params) -> np.ndarray:
        rng = np.random.default_rng(params["seed"])
        return np.stack([noise_src.coloured_noise(n, self.name, rng) for _ in range(channels)])

    def _apply(self, x, sample_rate, params):
        noise = self._noise(x.shape[1], x.shape[0], sample_rate, params)
        return mix_at_snr(x, noise, params["snr_db"], floor_rms=self.floor_rms, eps=1e-12)


def _colour(name):
    return type(f"{name.capitalize()}Noise", (AdditiveNoise,), {"name": name, "__doc__": f"{name} noise at an SNR."})


WhiteNoise, PinkNoise, BrownNoise, BlueNoise, VioletNoise = (_colour(c) for c in noise_src.COLOURS)


class _CorpusNoise(AdditiveNoise):
    """Additive noise whose source clips come from a corpus (or a built-in fallback)."""

    corpus_kind = "noise"

    def __init__(self, corpus=None, *, split: str = "train", **kw):
        super().__init__(**kw)
        self.corpus, self.split = corpus, split

    @functools.cached_property
    def _sources(self) -> list[str]:
        from earshot.data.corpus import load_manifest

        if self.corpus is None:
            return []
        items = load_manifest(self.corpus, kind=self.corpus_kind, split=self.split)
        items = [i for i in items if self._accept(i)]
        if not items:  # a small corpus may lack them: synthesise, as without a corpus
            logging.getLogger("earshot.data").warning(
                "%s: corpus %s has no suitable %s items in split %r; synthesising the noise instead",
                self.name, self.corpus, self.corpus_kind, self.split)
        return [str(i.path) for i in items]

    def _accept(self, item) -> bool:
        return True


@functools.lru_cache(maxsize=64)
def _clip(path: str, sample_rate: int) -> np.ndarray:
    audio, _ = load(path, sample_rate=sample_rate, mono=True)
    return audio[0].double().numpy()


class Babble(_CorpusNoise):
    """Babble: several talkers from the corpus' speech (of ``split``), summed, at an SNR.

    Without a corpus the talkers are espeak-ng voices reading built-in sentences."""

    name, corpus_kind = "babble", "speech"

    def _sample_source(self, rng):
        return {"talkers": int(rng.integers(3, 9))}

    def _noise(self, n, channels, sample_rate, params):
        clips = [_clip(p, sample_rate) for p in self._sources] if self._sources else _espeak_clips(sample_rate)
        rng = np.random.default_rng(params["seed"])
        return np.stack([noise_src._babble(rng, n, clips, params["talkers"]) for _ in range(channels)])


@functools.lru_cache(maxsize=4)
def _espeak_clips(sample_rate: int) -> list[np.ndarray]:
    from earshot.audio.resample import resample
    from earshot.data.sources import speech

    texts = speech.sentences()
    clips = []
    for k, speaker in enumerate(("m1", "f2", "m3", "f4", "m5", "f1", "m7", "f3")):
        params = {"accent": "en-us" if k % 2 else "en-gb", "speaker": speaker, "rate_wpm": 150 + 8 * k,
                  "pitch": 30 + 6 * k, "word_gap": 0}
        audio = torch.from_numpy(speech.synthesize(params, texts[k * 7]))
        clips.append(resample(audio, speech.ESPEAK_RATE, sample_rate).double().numpy())
    return clips


class Environment(_CorpusNoise):
    """Environmental noise (rain, wind, hum, fan, keyboard, waves, traffic, cafe, babble ...) from
    the corpus' noise items; without a corpus, synthesised on the fly by the same generators."""

    name = "environment"

    def _accept(self, item):
        return item.params.get("type") not in noise_src.COLOURS

    def _sample_source(self, rng):
        if self._sources:
            return {"source": int(rng.integers(len(self._sources))), "offset": float(rng.random())}
        return {"source": str(rng.choice(noise_src.AMBIENCES))}

    def _noise(self, n, channels, sample_rate, params):
        if self._sources:
            clip = _clip(self._sources[params["source"] % len(self._sources)], sample_rate)
            start = int(params["offset"] * len(clip))
            reps = np.concatenate([clip] * (n // len(clip) + 2))
            return np.stack([reps[start:start + n]] * channels)
        spec = noise_src.draw_noise(np.random.default_rng(params["seed"]), n / sample_rate, types=(params["source"],))
        return np.stack([noise_src.render_noise(spec, sample_rate).astype(np.float64)[:n]] * channels)


# ---------------------------------------------------------------------------- reverb

class Reverb(Perturbation):
    """Reverberation. Strength maps RT60 from ``rt60_range[0]`` to ``[1]`` seconds (log) and DRR
    from ``drr_range[0]`` to ``[1]`` dB (linear in dB); the room impulse response is synthetic
    (direct sound at 0, sparse early reflections, exponentially decaying noise). With ``rir_files``
    one of your RIRs is used instead, its direct peak at 0, mixed wet by strength.
    Output RMS equals input RMS and the direct sound stays aligned."""

    name = "reverb"

    def __init__(self, rir_files=None, *, rt60_range=(0.08, 2.5), drr_range=(20.0, -6.0)):
        self.rir_files = [str(p) for p in rir_files] if rir_files else []
        self.rt60_range, self.drr_range = rt60_range, drr_range

    def _sample(self, strength, rng):
        if self.rir_files:
            return {"rir": str(rng.choice(self.rir_files)), "wet": round(log_map(strength, 0.02, 1.0), 6)}
        return {"rt60": round(log_map(strength, *self.rt60_range), 5),
                "drr_db": round(lin_map(strength, *self.drr_range), 4), "seed": int(rng.integers(2**31 - 1))}

    def _apply(self, x, sample_rate, params):
        if "rir" in params:
            rir = _clip(params["rir"], sample_rate)
            rir = rir[int(np.argmax(np.abs(rir))):]
            rir = (1 - params["wet"]) * np.eye(1, len(rir))[0] * rir[0] + params["wet"] * rir
        else:
            rir = synthetic_rir(params["rt60"], params["drr_db"], sample_rate, np.random.default_rng(params["seed"]))
        y = fftconvolve(x, rir[None], axes=1)[:, : x.shape[1]]
        return y * (np.sqrt(np.mean(x**2)) / max(np.sqrt(np.mean(y**2)), 1e-12))


def synthetic_rir(rt60: float, drr_db: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A room impulse response: unit direct impulse at 0, then early reflections and a noise tail
    decaying 60 dB in ``rt60`` seconds, darker as it decays, scaled to the direct/reverberant
    energy ratio ``drr_db``. float64 ``(samples,)``."""
    n = max(2, int(rt60 * sample_rate * 1.2))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    early = np.zeros(n)
    for delay in rng.uniform(0.002, min(0.05, rt60), 8):
        early[int(delay * sample_rate)] += rng.uniform(-1, 1) * np.exp(-6.9 * delay / rt60)
    tail = tail * np.clip(t / 0.005, 0, 1) + 3 * early
    smooth = np.ones(max(1, int(sample_rate * 0.0005)))
    tail = 0.5 * tail + 0.5 * np.convolve(tail, smooth / smooth.size)[:n]
    tail[0] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / max(np.sum(tail**2), 1e-20))
    tail[0] = 1.0
    return tail


# ---------------------------------------------------------------------------- codecs, quantisers

class MP3(Perturbation):
    """MP3 (LAME, CBR) round trip; strength maps the bitrate from 128 kbps down to 8 (log),
    snapped to a valid MP3 bitrate."""

    name = "mp3"
    BITRATES = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128)

    def _sample(self, strength, rng):
        target = log_map(strength, 128, 8)
        return {"kbps": min(self.BITRATES, key=lambda b: abs(np.log(b / target)))}

    def _apply(self, x, sample_rate, params):
        return codecs.mp3_roundtrip(torch.from_numpy(x).float(), sample_rate, kbps=params["kbps"]).double().numpy()


class Opus(Perturbation):
    """Opus round trip; strength maps the bitrate per channel from 96 kbps down to 6 (log)."""

    name = "opus"

    def _sample(self, strength, rng):
        return {"kbps_per_channel": int(round(log_map(strength, 96, 6)))}

    def _apply(self, x, sample_rate, params):
        kbps = params["kbps_per_channel"] * x.shape[0]
        return codecs.opus_roundtrip(torch.from_numpy(x).float(), sample_rate, kbps=kbps).double().numpy()


class MuLaw(Perturbation):
    """mu-law companding quantised to ``levels`` steps: 4096 (strength 0) down to 4 (log)."""

    name = "mulaw"

    def _sample(self, strength, rng):
        return {"levels": int(round(log_map(strength, 4096, 4))), "mu": 255.0}

    def _apply(self, x, sample_rate, params):
        mu, half = params["mu"], (params["levels"] - 1) / 2
        x = np.clip(x, -1, 1)
        c = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
        c = np.round((c + 1) * half) / half - 1
        return np.sign(c) * np.expm1(np.abs(c) * np.log1p(mu)) / mu


class BitDepth(Perturbation):
    """Uniform quantisation to ``bits``: 16 (strength 0) down to 2, i.e. log in the step size."""

    name = "bitdepth"

    def _sample(self, strength, rng):
        return {"bits": round(lin_map(strength, 16.0, 2.0), 4)}

    def _apply(self, x, sample_rate, params):
        step = 2.0 / 2 ** params["bits"]
        return np.clip(np.round(np.clip(x, -1, 1) / step) * step, -1, 1)


# ---------------------------------------------------------------------------- filters, clipping

class EQ(Perturbation):
    """3-band equaliser (as DPAM): low (< 250 Hz), mid, high (> 4 kHz) gains of random sign; the
    largest gain magnitude goes from 0.3 dB (strength 0) to 24 dB (1), log. Zero phase."""

    name = "eq"
    EDGES = (250.0, 4000.0)

    def _sample(self, strength, rng):
        top = log_map(strength, 0.3, 24.0)
        mags = rng.uniform(0.3, 1.0, 3)
        mags[int(rng.integers(3))] = 1.0
        return {"gains_db": [round(float(g), 4) for g in rng.choice((-1.0, 1.0), 3) * mags * top]}

    def _apply(self, x, sample_rate, params):
        spec = np.fft.rfft(x, axis=1)
        f = np.fft.rfftfreq(x.shape[1], 1 / sample_rate)
        lf = np.log(np.maximum(f, 1.0))
        w_low = 1 / (1 + np.exp((lf - np.log(self.EDGES[0])) * 6))  # smooth crossovers
        w_high = 1 / (1 + np.exp(-(lf - np.log(self.EDGES[1])) * 6))
        w_mid = np.clip(1 - w_low - w_high, 0, 1)
        g = np.array(params["gains_db"])
        gain_db = g[0] * w_low + g[1] * w_mid + g[2] * w_high
        return np.fft.irfft(spec * 10 ** (gain_db / 20), x.shape[1], axis=1)


class _Filter(Perturbation):
    btype, at_zero, at_one = "lowpass", 12000.0, 100.0

    def _sample(self, strength, rng):
        return {"cutoff_hz": round(log_map(strength, self.at_zero, self.at_one), 3)}

    def _apply(self, x, sample_rate, params):
        cutoff = params["cutoff_hz"]
        if not 0 < cutoff < 0.49 * sample_rate:
            return x if (self.btype == "lowpass") == (cutoff > 0) else np.zeros_like(x)
        sos = butter(4, cutoff, btype=self.btype, fs=sample_rate, output="sos")
        return sosfiltfilt(sos, x, axis=1) if x.shape[1] > 30 else x


class Lowpass(_Filter):
    """Zero-phase 4th-order Butterworth low-pass; cutoff 12 kHz (strength 0) down to 100 Hz (log)."""

    name = "lowpass"


class Highpass(_Filter):
    """Zero-phase 4th-order Butterworth high-pass; cutoff 20 Hz (strength 0) up to 4 kHz (log)."""

    name, btype, at_zero, at_one = "highpass", "highpass", 20.0, 4000.0


class Clip(Perturbation):
    """Hard clipping at a fraction of the peak: 0.98 (strength 0) down to 0.01 (log)."""

    name = "clip"

    def _sample(self, strength, rng):
        return {"threshold": round(log_map(strength, 0.98, 0.01), 6)}

    def _apply(self, x, sample_rate, params):
        level = params["threshold"] * max(np.abs(x).max(), 1e-12)
        return np.clip(x, -level, level)


class GriffinLim(Perturbation):
    """Phase loss: the STFT phase is perturbed (noise std 0.02 rad at strength 0 to pi at 1, log),
    then ``n_iter`` Griffin-Lim iterations (`earshot.dsp.griffin_lim`, without momentum)
    re-estimate a consistent phase from the magnitude. Hann window, centred frames."""

    name = "griffinlim"

    def __init__(self, *, n_fft: int = 512, hop: int = 128, n_iter: int = 16):
        self.n_fft, self.hop, self.n_iter = n_fft, hop, n_iter

    def _sample(self, strength, rng):
        return {"phase_noise": round(log_map(strength, 0.02, np.pi), 6), "n_iter": self.n_iter,
                "n_fft": self.n_fft, "hop": self.hop, "seed": int(rng.integers(2**31 - 1))}

    def _apply(self, x, sample_rate, params):
        n_fft, hop, n = params["n_fft"], params["hop"], x.shape[1]
        if n < n_fft:
            return x
        window = make_window("hann", n_fft, dtype=torch.float64)
        spec = stft(torch.from_numpy(x)[None], n_fft, hop, window)  # (1, C, freq, frames)
        channels, freqs, frames = spec.shape[1:]  # phase noise drawn (channels, frames, freqs), as saved params expect
        noise = np.random.default_rng(params["seed"]).standard_normal((channels, frames, freqs)) * params["phase_noise"]
        phase = spec.angle() + torch.from_numpy(noise.transpose(0, 2, 1))[None]
        y = griffin_lim(spec.abs(), n_fft, hop, window, n_iter=params["n_iter"], momentum=0.0, length=n,
                        init=phase)
        return y[0].numpy()


# ---------------------------------------------------------------------------- model artefacts

def _stft_of(x: np.ndarray, n_fft: int, hop: int):
    """``x`` ``(C, T)`` -> (complex ``(C, freq, frames)`` STFT, hann window)."""
    window = make_window("hann", n_fft, dtype=torch.float64)
    return stft(torch.from_numpy(x)[None], n_fft, hop, window)[0], window


class Denoised(Perturbation):
    """A denoiser's output: noise added at an SNR of 50 dB (strength 0) down to -5 dB (1), then
    removed by a spectral Wiener-type gain ``max(1 - a * N / |Y|^2, floor)`` with the noise's own
    mean power spectrum ``N``. What remains is what denoisers leave: residual and musical noise
    where the gain fluctuates, and speech attenuated where it lies near or under the noise.
    Drawn per call: the noise colour (white or pink), the over-subtraction ``a`` in [1, 3] and
    the gain floor in [-30, -10] dB."""

    name = "denoised"

    def __init__(self, *, snr_at_zero: float = 50.0, snr_at_one: float = -5.0, n_fft: int = 512, hop: int = 128):
        self.snr_at_zero, self.snr_at_one, self.n_fft, self.hop = snr_at_zero, snr_at_one, n_fft, hop

    def _sample(self, strength, rng):
        return {"snr_db": round(lin_map(strength, self.snr_at_zero, self.snr_at_one), 4),
                "colour": str(rng.choice(["white", "pink"])),
                "over_subtraction": round(float(rng.uniform(1.0, 3.0)), 4),
                "floor_db": round(float(rng.uniform(-30.0, -10.0)), 4),
                "n_fft": self.n_fft, "hop": self.hop, "seed": int(rng.integers(2**31 - 1))}

    def _apply(self, x, sample_rate, params):
        n_fft, hop, n = params["n_fft"], params["hop"], x.shape[1]
        if n < n_fft:
            return x
        rng = np.random.default_rng(params["seed"])
        noise = np.stack([noise_src.coloured_noise(n, params["colour"], rng) for _ in range(x.shape[0])])
        noisy = mix_at_snr(x, noise, params["snr_db"], floor_rms=1e-3, eps=1e-12)
        spec, window = _stft_of(noisy, n_fft, hop)
        noise_power = _stft_of(noisy - x, n_fft, hop)[0].abs().pow(2).mean(dim=-1, keepdim=True)
        floor = 10.0 ** (params["floor_db"] / 20.0)
        gain = (1.0 - params["over_subtraction"] * noise_power / spec.abs().pow(2).clamp_min(1e-20)).clamp_min(floor)
        return istft((spec * gain)[None], n_fft, hop, window, length=n)[0].numpy()


class Smear(Perturbation):
    """An autoencoder's smoothing: the STFT magnitude blurred by a Gaussian over frequency (std
    0.2 bins at strength 0 to 8 bins at 1, log) and time (0.2 to 4 frames), the phase kept, and
    the blurred spectrum rescaled to the original's energy."""

    name = "smear"

    def __init__(self, *, n_fft: int = 512, hop: int = 128):
        self.n_fft, self.hop = n_fft, hop

    def _sample(self, strength, rng):
        return {"sigma_bins": round(log_map(strength, 0.2, 8.0), 6),
                "sigma_frames": round(log_map(strength, 0.2, 4.0), 6), "n_fft": self.n_fft, "hop": self.hop}

    def _apply(self, x, sample_rate, params):
        from scipy.ndimage import gaussian_filter

        n_fft, hop, n = params["n_fft"], params["hop"], x.shape[1]
        if n < n_fft:
            return x
        spec, window = _stft_of(x, n_fft, hop)
        power = spec.abs().pow(2).numpy()
        blurred = gaussian_filter(power, sigma=(0, params["sigma_bins"], params["sigma_frames"]), mode="nearest")
        blurred *= power.sum() / max(blurred.sum(), 1e-20)
        magnitude = torch.from_numpy(np.sqrt(blurred))
        return istft((magnitude * torch.exp(1j * spec.angle()))[None], n_fft, hop, window, length=n)[0].numpy()


# ---------------------------------------------------------------------------- chains

class Chain(Perturbation):
    """Several perturbations in a row: 2-3 types drawn from ``types``, each at ``strength``."""

    name = "chain"

    def __init__(self, types=("pink", "reverb", "mp3", "eq", "lowpass", "clip", "bitdepth", "opus"), *,
                 length=(2, 3), **instances):
        unknown = [t for t in types if t not in PERTURBATIONS or t == "chain"]
        if unknown:
            raise ConfigError(f"chain: unknown perturbation types {unknown}")
        self.types, self.length = tuple(types), length
        self._members = {t: instances.get(t) or PERTURBATIONS.load(t)() for t in self.types}

    def _sample(self, strength, rng):
        k = int(rng.integers(self.length[0], self.length[1] + 1))
        chosen = [self.types[i] for i in rng.choice(len(self.types), size=min(k, len(self.types)), replace=False)]
        return {"steps": [self._members[t].sample(strength, rng) for t in chosen]}

    def _apply(self, x, sample_rate, params):
        y = torch.from_numpy(x).float()
        for step in params["steps"]:
            member = self._members.get(step["type"]) or PERTURBATIONS.load(step["type"])()
            y = member.apply(y, sample_rate, step)
        return y.double().numpy()


PERTURBATIONS = Registry("perturbation", {
    "white": WhiteNoise, "pink": PinkNoise, "brown": BrownNoise, "blue": BlueNoise, "violet": VioletNoise,
    "babble": Babble, "environment": Environment, "reverb": Reverb, "mp3": MP3, "opus": Opus,
    "mulaw": MuLaw, "bitdepth": BitDepth, "eq": EQ, "lowpass": Lowpass, "highpass": Highpass,
    "clip": Clip, "griffinlim": GriffinLim, "denoised": Denoised, "smear": Smear, "chain": Chain,
})


def get_perturbation(name: str, **kwargs) -> Perturbation:
    """An instance of the perturbation called ``name`` (see ``PERTURBATIONS``)."""
    return PERTURBATIONS.load(name)(**kwargs)


def perturb(audio: torch.Tensor, sample_rate: int, name: str, strength: float, *, seed: int = 0,
            **kwargs) -> tuple[torch.Tensor, dict]:
    """One call: draw parameters for ``strength`` with ``seed`` and apply them to ``audio`` ``(C, T)``.

    Returns ``(perturbed (C, T), params)``.
    """
    p = get_perturbation(name, **kwargs)
    return p(audio, sample_rate, strength, np.random.default_rng(seed))


def degrade(audio: torch.Tensor, sample_rate: int, kind: str, amount: float, *, seed: int = 0) -> torch.Tensor:
    """One graded degradation of ``audio`` ``(C, T)``, cut to its length ``(C, T)``: a real codec
    at ``amount`` kbps (``"mp3"``, ``"opus"``) or the perturbation ``kind`` at strength ``amount``."""
    if kind == "mp3":
        out = codecs.mp3_roundtrip(audio, sample_rate, kbps=int(amount))
    elif kind == "opus":
        out = codecs.opus_roundtrip(audio, sample_rate, kbps=amount)
    else:
        out = perturb(audio, sample_rate, kind, amount, seed=seed)[0]
    return out[..., : audio.shape[-1]]


def apply_params(audio: torch.Tensor, sample_rate: int, params: dict, **kwargs) -> torch.Tensor:
    """Re-apply saved ``params`` (their ``type`` names the perturbation) to ``audio`` ``(C, T)``."""
    return get_perturbation(params["type"], **kwargs).apply(audio, sample_rate, params)
