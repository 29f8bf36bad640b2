"""Style and content losses, the feature networks, transfer and the `earshot style` command."""

from __future__ import annotations

import math

import pytest
import torch

from earshot.audio import save
from earshot.cli.main import main
from earshot.errors import ConfigError, ShapeError
from earshot.losses.style import ContentLoss, StyleLoss, gram_over_time
from earshot.losses.style_features import FeatureExtractor, feature_extractor
from earshot.models.style import LogSpectrogram, RandomShallowNet, SpectrogramAutoencoder
from earshot.style.transfer import TransferSettings, transfer

SR = 16000


def tone(freq: float, seconds: float = 0.5, amp: float = 0.4) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return (amp * torch.sin(2 * math.pi * freq * t))[None]


@pytest.fixture(scope="module")
def random_net() -> FeatureExtractor:
    """A narrow random network (the default is 1024 channels wide) to keep the tests quick."""
    return FeatureExtractor(RandomShallowNet(channels=128), sample_rate=SR, layer_names=["conv"],
                            style_layers=["conv"], content_layers=["conv"], spectrogram=LogSpectrogram()).eval()


def test_named_random_extractor():
    net = feature_extractor("random")
    assert net.works_on_spectrograms and net.layer_names == ["conv"]
    with pytest.raises(ConfigError):
        feature_extractor("nope")


def test_gram_over_time_closed_form():
    f = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])  # (batch 1, channels 2, frames 2)
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 2
    torch.testing.assert_close(gram_over_time(f), expected)


def test_gram_ignores_order_and_length_of_time():
    f = torch.randn(2, 3, 50, generator=torch.Generator().manual_seed(0))
    shuffled = f[..., torch.randperm(50, generator=torch.Generator().manual_seed(1))]
    torch.testing.assert_close(gram_over_time(f), gram_over_time(shuffled))
    torch.testing.assert_close(gram_over_time(f), gram_over_time(f.repeat(1, 1, 3)))
    assert gram_over_time(torch.randn(1, 2, 4, 7)).shape == (1, 8, 8)  # 4-D activations fold into channels


def test_style_loss_zero_on_identical_and_length_free(random_net):
    loss = StyleLoss(random_net)
    x = tone(440, 0.5)[None]
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-9)
    # a steady tone's Gram matrix barely depends on its length; another pitch is far away
    same_style = float(loss(x, tone(440, 1.0)[None]))
    other_style = float(loss(x, tone(1500, 1.0)[None]))
    assert same_style < 0.05 * other_style


def test_losses_freeze_network_and_pass_gradients(random_net):
    style, content = StyleLoss(random_net), ContentLoss(random_net)
    assert list(style.parameters()) == [] and list(content.parameters()) == []
    x = (tone(300) + 0.01 * torch.randn(1, SR // 2, generator=torch.Generator().manual_seed(0)))[None]
    x.requires_grad_(True)
    (style(x, tone(900)[None]) + content(x, tone(300)[None])).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_losses_reduce_per_item_and_check_shapes(random_net):
    x = torch.stack([tone(300), tone(600)])
    assert StyleLoss(random_net, reduction="none")(x, x.flip(0)).shape == (2,)
    with pytest.raises(ShapeError):
        ContentLoss(random_net)(x, x[..., :4000])
    with pytest.raises(ShapeError):
        StyleLoss(random_net)(x, x[:1])
    with pytest.raises(ConfigError):
        StyleLoss(random_net, layers=["nope"])


def test_losses_are_finite_on_silence(random_net):
    silence = torch.zeros(1, 1, 4000, requires_grad=True)
    value = StyleLoss(random_net)(silence, tone(440)[None][..., :4000]) + ContentLoss(random_net)(silence, silence.detach())
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(silence.grad).all()


def test_autoencoder_shapes_and_layers():
    ae = SpectrogramAutoencoder(channels=[32, 16, 8])
    logspec = LogSpectrogram()(tone(440)[None])
    assert logspec.shape == (1, 257, 63)
    feats = ae.features(logspec)
    assert [k for k in feats if k != "output"] == ae.layer_names == ["enc1", "enc2", "enc3", "dec1", "dec2"]
    assert feats["enc3"].shape == (1, 8, 63) and ae(logspec).shape == logspec.shape


def test_random_network_is_fixed_by_seed():
    a, b = RandomShallowNet(seed=3), RandomShallowNet(seed=3)
    torch.testing.assert_close(a.conv.weight, b.conv.weight)
    assert not torch.equal(a.conv.weight, RandomShallowNet(seed=4).conv.weight)
    assert list(p for p in a.parameters() if p.requires_grad) == []


@pytest.mark.parametrize("method", ["spectrogram", "waveform"])
def test_transfer_moves_towards_the_style(random_net, method):
    content, style = tone(220, 0.5), tone(1200, 0.5, amp=0.2) + tone(2500, 0.5, amp=0.1)
    result = transfer(content, style, SR, features=random_net, method=method,
                      settings=TransferSettings(steps=30), progress=False)
    assert result.audio.shape == content.shape and torch.isfinite(result.audio).all()
    first, last = result.history[0], result.history[-1]
    assert last[3] < 0.5 * first[3]  # style term at least halved


def test_texture_synthesis_from_noise(random_net):
    result = transfer(None, tone(800, 0.5), SR, features=random_net, texture=True, seconds=0.25,
                      settings=TransferSettings(steps=10), progress=False)
    assert result.audio.shape == (1, 4000)
    assert all(h[2] == 0.0 for h in result.history)  # no content term


def test_spectrogram_method_needs_a_spectrogram_network():
    waveform_net = FeatureExtractor(torch.nn.Identity(), sample_rate=SR, layer_names=["a"], style_layers=["a"],
                                    content_layers=["a"])
    with pytest.raises(ConfigError, match="waveform"):
        transfer(tone(220), tone(440), SR, features=waveform_net, method="spectrogram", progress=False)


def test_style_command_writes_output_and_never_its_input(tmp_path):
    content, style = tmp_path / "content.wav", tmp_path / "style.wav"
    save(content, tone(220, 0.5), SR)
    save(style, tone(900, 0.5), SR)
    out = tmp_path / "out.wav"
    assert main(["style", str(content), str(style), str(out), "--features", "random", "--steps", "3"]) == 0
    assert out.stat().st_size > 0
    assert main(["style", str(content), str(style), str(content), "--features", "random", "--steps", "3"]) == 2


def test_corpus_pairs_take_a_style_partner_from_valid_when_test_has_none(monkeypatch):
    from types import SimpleNamespace

    import earshot.style.evaluate as ev

    def item(name, speaker=None, melody=None):
        return SimpleNamespace(name=name, params={"speaker": speaker, "programs": {"melody": melody}})
    manifest = {("speech", "test"): [item("s1", speaker="a"), item("s2", speaker="b")], ("speech", "valid"): [],
                ("music", "test"): [item("m1", melody=40)], ("music", "valid"): [item("m2", melody=40), item("m3", melody=73)]}
    monkeypatch.setattr(ev, "load_manifest", lambda root, kind, split: manifest[(kind, split)])
    pairs = [(kind, a.name, b.name) for kind, a, b in ev.corpus_pairs("corpus", per_kind=2)]
    assert sorted(pairs) == [("music", "m1", "m3"), ("speech", "s1", "s2"), ("speech", "s2", "s1")]
