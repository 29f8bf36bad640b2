"""Perturbations: every type's distance from the clean signal grows with strength; sample/apply
split; determinism; saved params re-apply exactly; shapes and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from earshot.data import perturb
from earshot.errors import ConfigError, ShapeError

STRENGTHS = (0.0, 0.3, 0.6, 1.0)


def distance(clean: torch.Tensor, test: torch.Tensor) -> float:
    """Error energy relative to the clean energy (the inverse of the SNR, as a ratio)."""
    return float((test - clean).pow(2).sum() / clean.pow(2).sum())


@pytest.mark.parametrize("name", sorted(perturb.PERTURBATIONS))
def test_distance_grows_with_strength(name, clean):
    p = perturb.get_perturbation(name)
    distances = []
    for s in STRENGTHS:
        params = p.sample(s, np.random.default_rng(7))
        out = p.apply(clean, 16000, params)
        assert out.shape == clean.shape and out.dtype == torch.float32 and torch.isfinite(out).all()
        distances.append(distance(clean, out))
    assert all(a < b for a, b in zip(distances, distances[1:])), (name, distances)


def test_params_are_json_and_reapply_exactly(clean):
    rng = np.random.default_rng(1)
    for name in perturb.PERTURBATIONS:
        out, params = perturb.perturb(clean, 16000, name, 0.5, seed=3)
        assert params["type"] == name and params["strength"] == 0.5
        saved = json.loads(json.dumps(params))
        assert torch.equal(perturb.apply_params(clean, 16000, saved), out), name
        again, params2 = perturb.perturb(clean, 16000, name, 0.5, seed=3)
        assert params2 == params and torch.equal(again, out)
        p = perturb.get_perturbation(name)
        assert p.sample(0.5, rng) != p.sample(0.5, rng) or name in ("mp3", "opus", "mulaw", "bitdepth",
                                                                    "lowpass", "highpass", "clip", "smear"), name


def test_strength_maps_log_scale():
    rng = np.random.default_rng(0)
    assert perturb.Lowpass().sample(0.5, rng)["cutoff_hz"] == pytest.approx(np.sqrt(12000 * 100), rel=1e-6)
    assert perturb.Clip().sample(0.5, rng)["threshold"] == pytest.approx(np.sqrt(0.98 * 0.01), rel=1e-4)
    assert perturb.PinkNoise().sample(0.5, rng)["snr_db"] == pytest.approx(22.5)
    assert [perturb.MP3().sample(s, rng)["kbps"] for s in (0, 0.5, 1)] == [128, 32, 8]
    assert perturb.Reverb().sample(1.0, rng)["rt60"] == pytest.approx(2.5)


def test_additive_noise_hits_its_snr(clean):
    p = perturb.WhiteNoise()
    out = p.apply(clean, 16000, p.sample(0.5, np.random.default_rng(0)))
    snr = 10 * torch.log10(clean.pow(2).mean() / (out - clean).pow(2).mean())
    assert float(snr) == pytest.approx(22.5, abs=0.01)


def test_noise_colours_have_their_slopes():
    rng = np.random.default_rng(0)
    from earshot.data.sources.noise import COLOURS, coloured_noise

    f = np.fft.rfftfreq(2**16, 1 / 16000)
    band = (f > 100) & (f < 6000)
    for colour, slope in COLOURS.items():
        power = np.abs(np.fft.rfft(coloured_noise(2**16, colour, rng))) ** 2
        fit = np.polyfit(np.log10(f[band]), np.log10(power[band] + 1e-20), 1)[0]
        assert fit == pytest.approx(slope, abs=0.1), colour


def test_reverb_rir_has_its_rt60_and_drr():
    rir = perturb.synthetic_rir(0.6, 3.0, 16000, np.random.default_rng(0))
    assert rir[0] == 1.0
    assert 10 * np.log10(1.0 / np.sum(rir[1:] ** 2)) == pytest.approx(3.0, abs=1e-6)
    edc = np.cumsum(rir[::-1] ** 2)[::-1]  # Schroeder decay, -5 to -25 dB fit
    db = 10 * np.log10(edc / edc[0])
    t = np.arange(len(rir)) / 16000
    sel = (db < -5) & (db > -25)
    rt60 = -60 / np.polyfit(t[sel], db[sel], 1)[0]
    assert rt60 == pytest.approx(0.6, rel=0.15)


def test_reverb_with_user_rir_file(clean, tmp_path):
    from earshot.audio.io import save

    rir = np.zeros(4000, np.float32)
    rir[100], rir[900], rir[2500] = 1.0, 0.5, -0.25  # direct peak at 100 samples: aligned to 0
    save(tmp_path / "room.wav", rir[None], 16000)
    p = perturb.Reverb(rir_files=[tmp_path / "room.wav"])
    dry = p.apply(clean, 16000, p.sample(0.0, np.random.default_rng(0)))
    wet = p.apply(clean, 16000, p.sample(1.0, np.random.default_rng(0)))
    assert distance(clean, dry) < 0.01 < distance(clean, wet)
    lag = int(np.argmax(np.correlate(wet[0].numpy(), clean[0].numpy(), "full"))) - (clean.shape[-1] - 1)
    assert lag == 0


def test_chain_applies_each_step(clean):
    p = perturb.Chain(types=("lowpass", "clip"), length=(2, 2))
    params = p.sample(0.8, np.random.default_rng(0))
    assert sorted(s["type"] for s in params["steps"]) == ["clip", "lowpass"]
    step_by_step = clean
    for step in params["steps"]:
        step_by_step = perturb.apply_params(step_by_step, 16000, step)
    assert torch.allclose(p.apply(clean, 16000, params), step_by_step)


def test_errors(clean):
    p = perturb.PinkNoise()
    with pytest.raises(ConfigError, match="strength"):
        p.sample(1.5, np.random.default_rng(0))
    with pytest.raises(ShapeError):
        p.apply(clean[None], 16000, p.sample(0.5, np.random.default_rng(0)))
    with pytest.raises(ConfigError, match="not 'pink'"):
        p.apply(clean, 16000, {"type": "white", "snr_db": 3, "seed": 0})
    with pytest.raises(ConfigError, match="unknown perturbation"):
        perturb.get_perturbation("telephone")
    silent = torch.zeros(2, 800)
    for name in perturb.PERTURBATIONS:
        out, _ = perturb.perturb(silent, 16000, name, 0.7)
        assert out.shape == silent.shape and torch.isfinite(out).all()


def test_griffinlim_is_dsp_griffin_lim_from_a_perturbed_phase(clean):
    from earshot.dsp import griffin_lim, make_window, stft

    p = perturb.GriffinLim(n_fft=256, hop=64, n_iter=0)
    params = {**p.sample(0.5, np.random.default_rng(0)), "phase_noise": 0.0}
    assert torch.allclose(p.apply(clean, 16000, params), clean, atol=1e-6)  # no noise, no iterations: STFT round trip
    params = p.sample(0.5, np.random.default_rng(0)) | {"n_iter": 4}
    window = make_window("hann", 256, dtype=torch.float64)
    spec = stft(clean.double()[None], 256, 64, window)
    noise = np.random.default_rng(params["seed"]).standard_normal((1, spec.shape[-1], spec.shape[-2]))
    phase = spec.angle() + torch.from_numpy(noise.transpose(0, 2, 1) * params["phase_noise"])[None]
    expected = griffin_lim(spec.abs(), 256, 64, window, n_iter=4, momentum=0.0, length=clean.shape[-1], init=phase)
    assert torch.allclose(p.apply(clean, 16000, params), expected[0].float(), atol=1e-6)
    assert distance(clean, p.apply(clean, 16000, params)) > 1e-3  # the perturbed phase changes the signal


def test_denoised_removes_part_of_the_noise_it_adds(clean):
    p = perturb.Denoised()
    params = p.sample(0.6, np.random.default_rng(2))
    untouched = p.apply(clean, 16000, params | {"over_subtraction": 0.0})  # gain 1: the noisy mixture itself
    rng = np.random.default_rng(params["seed"])
    noise = torch.from_numpy(perturb.noise_src.coloured_noise(clean.shape[-1], params["colour"], rng)).float()[None]
    assert torch.allclose(untouched, perturb.mix_at_snr(clean, noise, params["snr_db"], floor_rms=1e-3, eps=1e-12),
                          atol=1e-5)
    denoised = p.apply(clean, 16000, params)
    assert distance(clean, denoised) < 0.7 * distance(clean, untouched)
    assert distance(clean, denoised) > 1e-4  # residual noise and attenuated speech remain


def test_smear_keeps_energy_and_spreads_a_tone():
    t = torch.arange(16000) / 16000
    tone = 0.5 * torch.sin(2 * torch.pi * 1000 * t)[None]
    p = perturb.Smear()

    def spread(x):  # bins holding 99% of the spectrum's energy, middle second
        power = torch.fft.rfft(x[0, 4000:12000]).abs().pow(2)
        return int((power.sort(descending=True).values.cumsum(0) < 0.99 * power.sum()).sum())

    weak, strong = (p.apply(tone, 16000, p.sample(s, np.random.default_rng(0))) for s in (0.0, 1.0))
    assert distance(tone, weak) < 1e-3
    assert spread(strong) > 5 * spread(weak)
    assert abs(float(strong.pow(2).sum() / tone.pow(2).sum()) - 1.0) < 0.2
