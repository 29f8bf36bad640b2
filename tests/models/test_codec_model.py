"""SoundStream model: shapes, bitrates, FiLM, encode/decode consistency, 16 and 24 kHz."""

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.models.codec import FiLM, SoundStream


def tiny(sample_rate=16000, **kw):
    torch.manual_seed(0)
    return SoundStream(sample_rate, channels=4, dim=8, n_quantizers=8, codebook_size=32, **kw)


def test_shapes_and_frame_rate_16k_and_24k():
    for rate, fps in ((16000, 50.0), (24000, 75.0)):
        model = tiny(rate)
        assert model.hop == 320 and model.frame_rate == fps
        x = 0.1 * torch.randn(2, 1, rate // 2 + 7)
        out = model(x)
        frames = -(-x.shape[-1] // 320)
        assert out.audio.shape == x.shape and out.codes.shape[::2] == (2, frames)


def test_bitrate_and_quantizers_for_kbps():
    m16 = SoundStream(16000, channels=2, dim=4, n_quantizers=24)
    assert m16.bits_per_code == 10 and m16.bitrate(1) == 0.5
    assert [m16.quantizers_for_kbps(k) for k in (3, 6, 12)] == [6, 12, 24]
    m24 = SoundStream(24000, channels=2, dim=4, n_quantizers=24)
    assert [m24.quantizers_for_kbps(k) for k in (3, 6, 18)] == [4, 8, 24]
    with pytest.raises(ConfigError):
        m16.quantizers_for_kbps(13)
    with pytest.raises(ConfigError):
        m16.quantizers_for_kbps(0.1)


def test_encode_decode_equals_forward_in_eval():
    model = tiny()
    model(0.1 * torch.randn(4, 1, 3200))  # initialise codebooks
    model.eval()
    x = 0.1 * torch.randn(2, 1, 1000)
    with torch.no_grad():
        for n_q in (1, 3, 8):
            codes = model.encode(x, n_q)
            assert codes.shape == (2, n_q, 4)
            assert torch.equal(model.decode(codes, length=1000), model(x, n_q).audio)


def test_encode_never_updates_codebooks():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    model.encode(0.1 * torch.randn(1, 1, 640), 4)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_film_is_identity_at_init_and_conditions_after():
    film = FiLM(3)
    x = torch.randn(2, 3, 5)
    assert torch.equal(film(x, True), x) and torch.equal(film(x, torch.tensor([0, 1])), x)
    with torch.no_grad():
        film.gamma[1] = 2.0
        film.beta[1] = 1.0
    out = film(x, torch.tensor([0, 1]))
    assert torch.equal(out[0], x[0]) and torch.allclose(out[1], 2 * x[1] + 1)
    for position in ("encoder", "decoder", "both"):
        model = tiny(film=position).eval()
        x = 0.1 * torch.randn(1, 1, 640)
        assert torch.equal(model(x, denoise=True).audio, model(x, denoise=False).audio)
    with pytest.raises(ConfigError):
        tiny(film="middle")


def test_rejects_stereo_and_bad_shapes():
    model = tiny()
    with pytest.raises(ShapeError):
        model(torch.zeros(1, 2, 640))
    with pytest.raises(ShapeError):
        model(torch.zeros(640))


def test_gradients_reach_encoder_and_decoder():
    model = tiny()
    out = model(0.1 * torch.randn(2, 1, 640))
    (out.audio.pow(2).mean() + out.commit_loss).backward()
    assert model.encoder.net[0].weight.grad.abs().sum() > 0
    assert model.decoder.net[-1].weight.grad.abs().sum() > 0


def test_quantizer_bypass_for_warm_up():
    model = tiny()
    x = 0.1 * torch.randn(2, 1, 700)
    out = model(x, quantize=False)
    assert out.audio.shape == x.shape and out.codes.shape == (2, 0, 3) and out.commit_loss == 0
    assert not bool(model.quantizer.layers[0].initialized)       # the codebooks were not touched
    with torch.no_grad():
        direct = model.synthesize(model.embed(x))[..., :700]
    assert torch.equal(out.audio, direct)


def test_weight_norm_folds_to_the_same_outputs():
    model = tiny(weight_norm=True)
    assert any("parametrizations" in k for k in model.state_dict())
    model(0.1 * torch.randn(2, 1, 3200))
    model.eval()
    x = 0.1 * torch.randn(1, 1, 960)
    with torch.no_grad():
        before = model(x, 4).audio
        model.remove_weight_norm()
        after = model(x, 4).audio
    assert not any("parametrizations" in k for k in model.state_dict())
    assert torch.allclose(before, after, atol=1e-6)
    plain = tiny()
    plain.load_state_dict(model.state_dict())                 # loads as weight_norm=False


def test_init_passes_audio_at_unit_gain_and_silence_as_silence():
    torch.manual_seed(0)
    model = SoundStream(16000, channels=8, dim=32).eval()
    x = 0.05 * torch.randn(1, 1, 16000)
    with torch.no_grad():
        gain = model(x, quantize=False).audio.pow(2).mean().sqrt() / x.pow(2).mean().sqrt()
        silence = model(torch.zeros(1, 1, 3200), quantize=False).audio
    assert 0.3 < gain < 3.0
    assert torch.equal(silence, torch.zeros_like(silence))
