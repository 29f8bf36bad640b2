"""The codec recipe: models, generator and discriminator terms, denoising items."""

import json

import torch

from earshot.models.codec import SoundStream
from earshot.models.discriminators import CombinedDiscriminator
from earshot.train.recipe import StepContext, get_recipe
from earshot.train.recipes.codec import CodecConfig, CodecItems


def tiny_recipe(**kw):
    cfg = CodecConfig(sample_rate=16000, channels=2, dim=4, n_quantizers=4, codebook_size=16,
                      wave_channels=2, wave_max_channels=8, stft_channels=2, **kw)
    return get_recipe("codec")(cfg)


def batch(n=2, t=3200):
    torch.manual_seed(0)
    x = 0.1 * torch.randn(n, 1, t)
    return {"input": x, "target": x, "denoise": torch.tensor([0, 1])[:n]}


def test_paper_defaults():
    cfg, recipe = CodecConfig(), get_recipe("codec")
    assert (cfg.sample_rate, cfg.channels, cfg.n_quantizers, cfg.codebook_size) == (24000, 32, 24, 1024)
    assert list(cfg.strides) == [2, 4, 5, 8] and cfg.adversarial_kind == "hinge"
    w = recipe.train_defaults["loss_weights"]
    assert (w["adv"], w["feat"], w["rec"]) == (1.0, 100.0, 1.0)


def test_gan_terms_and_gradients():
    recipe = tiny_recipe()
    models = recipe.build_models()
    assert isinstance(models["generator"], SoundStream) and isinstance(models["discriminator"], CombinedDiscriminator)
    ctx = StepContext(step=0, total_steps=1, device=torch.device("cpu"), adversary_active=True)
    terms = recipe.training_step(models, batch(), ctx)
    assert set(terms) == {"rec", "commit", "adv", "feat"}
    assert all(torch.isfinite(v) and v.dim() == 0 for v in terms.values())
    sum(terms.values()).backward()
    assert all(p.grad is not None for p in models["generator"].encoder.parameters())
    d = recipe.discriminator_step(models, batch(), ctx)
    assert set(d) == {"disc"} and torch.isfinite(d["disc"])
    d["disc"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in models["discriminator"].parameters())
    quiet = StepContext(step=0, total_steps=1, device=torch.device("cpu"), adversary_active=False)
    assert set(recipe.training_step(models, batch(), quiet)) == {"rec", "commit"}


def test_reconstruction_only_and_export():
    recipe = tiny_recipe(adversarial=False)
    models = recipe.build_models()
    assert set(models) == {"model"}
    exported = recipe.export(models)
    rebuilt = SoundStream(**exported.kwargs)
    rebuilt.load_state_dict(exported.module.state_dict())
    assert exported.sample_rate == 16000 and "speech" in exported.data


def test_denoising_items_flag_semantics():
    clean = [torch.full((1, 800), 0.1 * (i + 1)) for i in range(40)]
    noise = [torch.randn(1, 1000) for _ in range(3)]
    items = CodecItems(clean, noise, denoise_prob=0.5, snr_db=(5.0, 5.0), seed=3)
    seen = set()
    for i in range(40):
        item = items[i]
        assert item["input"].shape == (1, 800)
        noisy = not torch.equal(item["input"], clean[i])
        if item["denoise"] == 1:
            assert noisy and torch.equal(item["target"], clean[i])
        else:
            assert torch.equal(item["target"], item["input"])
        if noisy:  # 5 dB SNR before the peak guard
            snr = 10 * torch.log10(clean[i].pow(2).sum() / (item["input"] - clean[i]).pow(2).sum())
            assert abs(snr - 5.0) < 0.5 or item["input"].abs().max() == 1.0
        seen.add((noisy, int(item["denoise"])))
    assert seen == {(False, 0), (True, 0), (True, 1)}
    assert torch.equal(items[7]["input"], CodecItems(clean, noise, snr_db=(5.0, 5.0), seed=3)[7]["input"])
    assert torch.equal(CodecItems(clean)[5]["input"], clean[5])


def test_engine_trains_gan_and_denoising_then_exports(tmp_path):
    from earshot.cli.main import main
    from earshot.data.corpus import build_corpus
    from earshot.train.config import build_config
    from earshot.train.engine import train
    from earshot.weights import load_pretrained

    corpus = tmp_path / "corpus"
    build_corpus(corpus, minutes=0.3, seed=0, progress=False)
    recipe = get_recipe("codec")
    overrides = {
        "train.steps": "3", "train.batch_size": "2", "train.adversary_start": "1", "train.accelerator": "cpu",
        "train.progress": "false", "train.tensorboard": "false", "train.num_examples": "0",
        "train.val_every": "0", "train.ckpt_every": "0", "recipe.corpus": str(corpus),
        "recipe.sample_rate": "16000", "recipe.channels": "2", "recipe.dim": "4", "recipe.n_quantizers": "4",
        "recipe.codebook_size": "16", "recipe.wave_channels": "2", "recipe.wave_max_channels": "8",
        "recipe.stft_channels": "2", "recipe.segment_seconds": "0.2", "recipe.denoise": "true",
        "recipe.valid_kbps": "0.4", "recipe.quantizer_warmup": "1",
    }
    cfg = build_config("codec", recipe.config_class, train_defaults=recipe.train_defaults, overrides=overrides)
    result = train(cfg, tmp_path / "run")
    assert result.step == 3 and {"rec", "mel_distance", "si_sdr"} <= set(result.metrics)
    assert main(["export", str(tmp_path / "run"), "--name", "codec-test", "--out", str(tmp_path / "w")]) == 0
    model = load_pretrained("codec-test", root=tmp_path / "w")
    assert isinstance(model, SoundStream) and bool(model.quantizer.layers[0].initialized)
    x = 0.1 * torch.randn(1, 1, 1600)
    with torch.no_grad():
        assert model.decode(model.encode(x, 2, denoise=True), denoise=True).shape == (1, 1, 1600)
    # `earshot eval codec --noisy`: noisy inputs scored against the clean clips, with and without the flag
    out = tmp_path / "eval"
    assert main(["eval", "codec", "--model", str(tmp_path / "w" / "codec-test.json"), "--corpus", str(corpus),
                 "--kbps", "0.4", "--items", "1", "--seconds", "0.5", "--noisy", "5", "--no-baselines",
                 "--out", str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())  # every eval writes its raw results there
    assert report["noisy_snr_db"] == 5 and {r["system"] for r in report["rows"]} == {"soundstream", "soundstream+denoise"}
    assert (out / "audio" / "speech-noisy-input.wav").is_file() and (out / "audio" / "speech-reference.wav").is_file()


def test_extra_perceptual_loss_from_the_registry():
    recipe = tiny_recipe(extra_loss="jnd", adversarial=False)
    models = recipe.build_models()
    ctx = StepContext(step=0, total_steps=1, device=torch.device("cpu"))
    terms = recipe.training_step(models, batch(2, 8000), ctx)
    assert set(terms) == {"rec", "commit", "extra"} and torch.isfinite(terms["extra"])
    terms["extra"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in models["model"].decoder.parameters())


def test_fine_tunes_from_shipped_weights_and_says_so():
    import pytest

    from earshot.errors import ConfigError
    from earshot.weights import load_pretrained

    recipe = tiny_recipe(adversarial=False, init="codec-16k")  # the manifest's settings replace the tiny ones
    generator = recipe.build_models()["model"]
    shipped = load_pretrained("codec-16k")
    assert generator.training and all(p.requires_grad for p in generator.parameters())
    for (name, a), b in zip(generator.state_dict().items(), shipped.state_dict().values()):
        assert torch.equal(a, b), name
    exported = recipe.export({"model": generator})
    assert exported.kwargs["channels"] == 8 and "fine-tuned from codec-16k" in exported.data  # codec-16k: C = 8
    with pytest.raises(ConfigError, match="24000"):
        get_recipe("codec")(CodecConfig(init="codec-16k")).build_models()  # codec-16k runs at 16 kHz
    with pytest.raises(ConfigError, match="not a SoundStream"):
        tiny_recipe(init="jnd-sim-16k").build_models()
