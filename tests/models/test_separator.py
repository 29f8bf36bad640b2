"""The U-Net separator: shapes, crop-and-concat, mask vs direct, chunking, Wiener additivity."""

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.models.separator import Separator, UNet, UNetSeparator, center_crop, wiener


def tiny(**kw):
    torch.manual_seed(0)
    kw = {"channels": 4, "depth": 2, **kw}
    return UNetSeparator(**kw).eval()


def test_paper_defaults_and_parameter_count():
    m = UNetSeparator()
    assert (m.sample_rate, m.n_fft, m.hop_length, m.kind, m.sources) == (8192, 512, 256, "direct", ("vocals", "accompaniment"))
    assert m.unet.depth == 4 and [b[0].out_channels for b in m.unet.down] == [16, 32, 64, 128]
    assert m.unet.bottom[0].out_channels == 256
    assert all(isinstance(h, torch.nn.Conv2d) and h.out_channels == 1 for h in m.heads) and len(m.heads) == 2
    # 3x3 convs per level (2 down, 2 up), 2x2 transposed convs, one 1x1 head per source
    w = [16, 32, 64, 128, 256]
    conv = lambda i, o, k: i * o * k * k + o  # noqa: E731
    down = sum(conv(1 if i == 0 else w[i - 1], w[i], 3) + conv(w[i], w[i], 3) for i in range(4))
    bottom = conv(128, 256, 3) + conv(256, 256, 3)
    up = sum(conv(w[i + 1], w[i], 2) + conv(2 * w[i], w[i], 3) + conv(w[i], w[i], 3) for i in range(4))
    # the heads also see the input features (the paper's code concatenates them)
    assert sum(p.numel() for p in m.parameters()) == down + bottom + up + 2 * conv(17, 1, 1)
    assert sum(p.numel() for p in UNetSeparator(input_skip=False).parameters()) == down + bottom + up + 2 * conv(16, 1, 1)


@pytest.mark.parametrize("f,n", [(257, 32), (257, 7), (33, 50)])
def test_output_shape_matches_input_any_size(f, n):
    m = tiny()
    with torch.no_grad():
        out = m(torch.rand(2, 1, f, n))
    assert out.shape == (2, 2, f, n) and (UNetSeparator.magnitudes(out) >= 0).all()


def test_same_unet_keeps_size_on_multiples():
    net = UNet(1, 4, 3).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 1, 48, 24)).shape == (1, 4, 48, 24)


def test_valid_unet_sizes_and_crop_concat():
    net = UNet(1, 2, 4, padding="valid")
    assert net.valid_input_size(388) == (572, 388)  # the original U-Net's sizes (Ronneberger et al.)
    assert net.context() == 92 + 15    # half the size reduction + the pooling grid
    with torch.no_grad():
        assert net(torch.rand(1, 1, 572, 188 + 184)).shape == (1, 2, 388, 180)  # odd sizes: skips cropped
    assert net.valid_input_size(180) == (364, 180)
    m = tiny(padding="valid")
    with torch.no_grad():
        assert m(torch.rand(1, 1, 257, 10)).shape == (1, 2, 257, 10)


def test_center_crop():
    x = torch.arange(5 * 6.0).reshape(1, 1, 5, 6)
    c = center_crop(x, (3, 2))
    assert c.shape == (1, 1, 3, 2) and torch.equal(c[0, 0], x[0, 0, 1:4, 2:4])
    assert center_crop(x, (9, 9)).shape == x.shape


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_context_bounds_the_receptive_field(padding):
    """Changing one input frame changes outputs only within ``unet.context()`` frames."""
    torch.manual_seed(1)
    m = UNetSeparator(channels=2, depth=2, padding=padding).eval()
    x = torch.rand(1, 1, 17, 64)
    y = x.clone()
    y[..., 32] += 1.0
    with torch.no_grad():
        diff = (m(x) - m(y)).abs().amax(dim=(0, 1, 2))
    changed = torch.nonzero(diff > 0).flatten()
    assert changed.numel() > 0
    assert (changed - 32).abs().max() <= m.unet.context()


def test_mask_kind_bounded_by_mixture_and_direct_is_not():
    x = torch.rand(2, 1, 40, 16) * 3
    mask, direct = tiny(kind="mask"), tiny(kind="direct")
    with torch.no_grad():
        em, ed = mask(x), direct(x)
    assert (torch.expm1(em) <= torch.expm1(x) + 1e-5).all()
    silent = torch.zeros_like(x)
    with torch.no_grad():
        assert torch.equal(mask(silent), torch.zeros(2, 2, 40, 16))  # a mask of silence is silence
        assert direct(silent).abs().sum() > 0                      # a direct estimate need not be
    assert em.shape == ed.shape


@pytest.mark.parametrize("kind", ["direct", "mask"])
def test_chunked_equals_whole_file(kind):
    m = tiny(kind=kind)
    torch.manual_seed(2)
    audio = 0.2 * torch.randn(2, 1, 256 * 100 + 37)
    with torch.no_grad():
        whole = Separator(m, chunk_frames=None)(audio)
        chunked = Separator(m, chunk_frames=16)(audio)
        # whole-file resynthesis through earshot.dsp's inverse STFT
        direct = m.resynthesize(m.separate_spectrogram(m.spectrogram(audio)), audio.shape[-1])
    assert len(Separator(m, chunk_frames=16).chunks(101)) == 7
    assert whole.shape == (2, 2, 1, audio.shape[-1])
    torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=0)
    torch.testing.assert_close(whole[:, :, 0], direct, atol=1e-6, rtol=0)


def test_chunks_without_context_differ_near_edges():
    m = tiny()
    audio = 0.2 * torch.randn(1, 1, 256 * 64)
    with torch.no_grad():
        whole = Separator(m, chunk_frames=None)(audio)
        blind = Separator(m, chunk_frames=16, context_frames=0)(audio)
    assert (whole - blind).abs().max() > 1e-4


def test_wiener_estimates_add_up_to_the_mixture():
    m = tiny()
    audio = 0.3 * torch.randn(1, 2, 8192)  # two channels, separated independently
    with torch.no_grad():
        est = Separator(m, wiener_iterations=2, chunk_frames=16)(audio)
    assert est.shape == (1, 2, 2, 8192)
    torch.testing.assert_close(est.sum(dim=1), audio, atol=1e-5, rtol=0)


def test_wiener_masks():
    mags = torch.tensor([[3.0, 1.0], [1.0, 1.0]]).reshape(1, 2, 2, 1)
    mix = torch.tensor([2.0 + 0j, 1j]).reshape(1, 1, 2, 1)
    out = wiener(mags, mix, iterations=1, eps=0.0)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([1.8 + 0j, 0.2 + 0j]))
    torch.testing.assert_close(out[0, :, 1, 0], torch.tensor([0.5j, 0.5j]))
    phase_only = wiener(mags, mix, iterations=0)
    torch.testing.assert_close(phase_only[0, :, 1, 0], torch.tensor([1j, 1j]))


def test_gradients_flow_and_silence_is_finite():
    m = UNetSeparator(channels=2, depth=2)
    audio = torch.zeros(1, 1, 2048, requires_grad=True)
    spec = m.spectrogram(audio + 0.0)
    est = m.separate_spectrogram(spec)
    m.resynthesize(est, 2048).abs().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_errors():
    with pytest.raises(ConfigError):
        UNetSeparator(kind="ratio")
    with pytest.raises(ConfigError):
        UNetSeparator(sources=("a", "a"))
    with pytest.raises(ShapeError):
        tiny()(torch.rand(1, 2, 10, 10))
    with pytest.raises(ShapeError):
        tiny().spectrogram(torch.rand(1, 2, 1000))
    with pytest.raises(ConfigError):
        Separator(tiny(), chunk_frames=10)
    with pytest.raises(ShapeError):
        Separator(tiny())(torch.rand(10))
