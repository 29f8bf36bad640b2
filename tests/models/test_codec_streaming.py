"""Streaming equals offline (decoding to 1e-5, encoding up to near-tie codes), with one frame of latency."""

import torch

from earshot.models.codec import SoundStream
from earshot.models.codec.streaming import StreamingDecoder, StreamingEncoder


def trained_tiny(rate):
    torch.manual_seed(0)
    model = SoundStream(rate, channels=4, dim=8, n_quantizers=6, codebook_size=64)
    model(0.1 * torch.randn(4, 1, 6400))  # k-means init
    return model.eval()


def stream(model, x, sizes, n_q):
    enc, dec = StreamingEncoder(model, n_q), StreamingDecoder(model)
    codes, audio, i, k = [], [], 0, 0
    while i < x.shape[-1]:
        n = sizes[k % len(sizes)]
        c = enc.push(x[..., i:i + n])
        codes.append(c)
        audio.append(dec.push(c))
        i, k = i + n, k + 1
    c = enc.flush()
    codes.append(c)
    audio.append(dec.push(c))
    return torch.cat(codes, -1), torch.cat(audio, -1)


def test_streaming_equals_offline_16k_and_24k():
    for rate in (16000, 24000):
        model = trained_tiny(rate)
        x = 0.3 * torch.randn(2, 1, 4000)
        with torch.no_grad():
            codes = model.encode(x, 4)
            offline = model.decode(codes)
        for sizes in ([320], [1, 77, 500, 33], [4000]):
            s_codes, s_audio = stream(model, x, sizes, 4)
            # The encoders agree to float rounding; a random tiny codebook has near-ties that
            # rounding can flip on some CPUs, so a few codes may differ, never many.
            assert (s_codes != codes).float().mean() < 0.05
            assert s_audio.shape == offline.shape
            with torch.no_grad():
                assert (s_audio - model.decode(s_codes)).abs().max() < 1e-5


def test_latency_is_one_frame():
    model = trained_tiny(16000)
    x = 0.3 * torch.randn(1, 1, 960)
    enc, dec = StreamingEncoder(model, 6), StreamingDecoder(model)
    assert enc.push(x[..., :319]).shape[-1] == 0          # not yet a full frame
    first = enc.push(x[..., 319:320])                     # the 320th sample completes frame 0
    assert first.shape == (1, 6, 1)
    audio = dec.push(first)
    assert audio.shape == (1, 1, 320)                     # 20 ms out for 20 ms in
    with torch.no_grad():
        offline = model.decode(model.encode(x, 6))
    assert (audio - offline[..., :320]).abs().max() < 1e-5
    assert enc.flush().shape[-1] == 0                     # nothing pending
