"""Differentiable, batched DSP on ``(batch, channels, samples)`` tensors: STFT, mel, weighting filters,
Griffin-Lim, loudness, resampling.

Imports nothing of earshot's but ``errors`` and ``validate``.
"""

from earshot.dsp.griffinlim import GriffinLim, griffin_lim
from earshot.dsp.loudness import k_weight, loudness_normalize, lufs, rms_db, rms_normalize
from earshot.dsp.mel import MelSpectrogram, hz_to_mel, mel_filterbank, mel_frequencies, mel_to_hz
from earshot.dsp.spectral_distance import DistanceTerms, spectral_distance
from earshot.dsp.resample import Resample, resample
from earshot.dsp.stft import STFT, istft, magnitude, make_window, stft
from earshot.dsp.weighting import FIRFilter, a_weighting, fir_filter, preemphasis

__all__ = [
    "STFT", "stft", "istft", "magnitude", "make_window",
    "MelSpectrogram", "mel_filterbank", "mel_frequencies", "hz_to_mel", "mel_to_hz",
    "DistanceTerms", "spectral_distance",
    "FIRFilter", "a_weighting", "preemphasis", "fir_filter",
    "GriffinLim", "griffin_lim",
    "lufs", "loudness_normalize", "k_weight", "rms_db", "rms_normalize",
    "Resample", "resample",
]
