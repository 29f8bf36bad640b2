"""The Vocos-style iSTFT decoder of SoundStream: the head is an exact inverse FFT with
overlap-add, causal, and streaming equals offline (so bitstreams and `earshot codec` work)."""

import pytest
import torch

from earshot.errors import ConfigError
from earshot.models.codec import SoundStream
from earshot.models.codec import bitstream
from earshot.models.codec.istft import ISTFTDecoder, ISTFTHead
from earshot.models.codec.streaming import StreamingDecoder, StreamingEncoder


def _model(**kw):
    torch.manual_seed(0)
    return SoundStream(16000, channels=4, dim=16, n_quantizers=8, codebook_size=64, decoder="istft",
                       decoder_width=32, decoder_blocks=1, **kw).eval()


def test_head_inverts_a_stft_in_steady_state():
    """Frames holding the rFFT of Hann-windowed 4x-overlapped analysis frames give the signal back
    (after the first n_fft - hop samples, where fewer frames overlap)."""
    n_fft, hop = 64, 16
    head = ISTFTHead(n_fft, hop)
    x = torch.randn(1, 1, 40 * hop, dtype=torch.float64).float()
    padded = torch.nn.functional.pad(x, (n_fft - hop, 0))[0, 0]
    frames = padded.unfold(0, n_fft, hop)                       # frame t ends at sample (t + 1) * hop
    spec = torch.fft.rfft(frames, dim=-1).T[None]               # (1, F, N)
    # the head places frame t at [t * hop, t * hop + n_fft); our frames end at (t + 1) * hop, so
    # the output is the signal delayed by n_fft - hop samples
    inp = torch.cat([spec.abs().clamp_min(1e-30).log(), spec.angle()], dim=1)
    y = head(inp)
    lag = n_fft - hop
    assert y.shape == (1, 1, frames.shape[0] * hop)
    torch.testing.assert_close(y[..., 2 * lag:], x[..., lag:y.shape[-1] - lag], atol=1e-4, rtol=1e-4)


def test_head_rejects_bad_sizes():
    with pytest.raises(ConfigError, match="multiple of hop"):
        ISTFTHead(100, 32)
    with pytest.raises(ConfigError, match="width"):
        ISTFTDecoder(8, 0, 320)
    with pytest.raises(ConfigError, match="decoder must be one of"):
        SoundStream(16000, channels=4, dim=8, decoder="vocoder")


def test_istft_decoder_is_causal_and_streams_like_offline():
    model = _model()
    x = 0.1 * torch.randn(1, 1, 16000)
    codes = model.encode(x, 6)
    offline = model.decode(codes)
    dec = StreamingDecoder(model)
    pieces = [dec.push(codes[..., i:i + 3]) for i in range(0, codes.shape[-1], 3)]
    torch.testing.assert_close(torch.cat(pieces, -1), offline, atol=1e-5, rtol=1e-4)
    # changing frame 20's codes leaves every earlier output sample unchanged (causal)
    other = codes.clone()
    other[..., 20] = (other[..., 20] + 1) % 64
    changed = model.decode(other)
    assert torch.equal(changed[..., :20 * model.hop], offline[..., :20 * model.hop])
    assert not torch.equal(changed[..., 20 * model.hop:], offline[..., 20 * model.hop:])


def test_streaming_encoder_and_bitstream_round_trip_with_istft_decoder(tmp_path):
    model = _model()
    x = 0.1 * torch.randn(1, 1, 5000)
    enc = StreamingEncoder(model, n_quantizers=4)
    codes = torch.cat([enc.push(x[..., :1234]), enc.push(x[..., 1234:]), enc.flush()], dim=-1)
    assert torch.equal(codes, model.encode(x, 4))
    stream = bitstream.Bitstream(codes=codes[0], model_id=bitstream.model_fingerprint(model), model_name="tiny",
                                 sample_rate=16000, bits=model.bits_per_code, n_samples=x.shape[-1])
    back = bitstream.read(bitstream.write(tmp_path / "x.esc", stream))
    bitstream.check_model(back, model, "tiny")
    assert torch.equal(back.codes, codes[0])
    decoded = model.decode(back.codes[None], length=back.n_samples)
    torch.testing.assert_close(decoded, model.decode(codes, length=x.shape[-1]))


def test_istft_codec_trains_and_folds_weight_norm():
    torch.manual_seed(0)
    model = SoundStream(16000, channels=4, dim=16, n_quantizers=4, codebook_size=32, decoder="istft",
                        decoder_width=32, decoder_blocks=1, weight_norm=True)
    x = 0.1 * torch.randn(2, 1, 3200)
    out = model(x, quantize=False)
    (out.audio - x).abs().mean().backward()
    grads = [p.grad for p in model.decoder.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    model.eval()
    before = model(x, quantize=False).audio
    after = model.remove_weight_norm()(x, quantize=False).audio
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
