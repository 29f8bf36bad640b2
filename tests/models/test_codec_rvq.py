"""Residual VQ: EMA update, k-means init, dead codes, quantizer dropout, codes <-> decode."""

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.models.codec.rvq import ResidualVectorQuantizer, VectorQuantizer


def _vq(embed, cluster_size, **kw):
    vq = VectorQuantizer(embed.shape[1], embed.shape[0], **kw)
    vq.embed.copy_(embed)
    vq.cluster_size.copy_(cluster_size)
    vq.initialized.fill_(True)
    return vq


def test_ema_update_matches_hand_computed_values():
    vq = _vq(torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]), torch.ones(3), decay=0.9, dead_threshold=0.0)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [9.0, 0.0], [11.0, 2.0]])
    codes, vectors = vq.quantize(x, learn=True)
    assert codes.tolist() == [0, 0, 1, 1]
    # vectors are looked up before the update
    assert torch.equal(vectors, torch.tensor([[0.0, 0.0], [0.0, 0.0], [10.0, 0.0], [10.0, 0.0]]))
    # N' = 0.9 N + 0.1 n ; embed' = (0.9 e N + 0.1 sum) / N'
    assert torch.allclose(vq.cluster_size, torch.tensor([1.1, 1.1, 0.9]))
    expected = torch.tensor([[0.1 / 1.1, 0.1 / 1.1], [10.0, 0.2 / 1.1], [0.0, 10.0]])
    assert torch.allclose(vq.embed, expected, atol=1e-6)


def test_unused_code_keeps_its_value_exactly_under_ema():
    vq = _vq(torch.tensor([[0.0, 0.0], [5.0, 5.0]]), torch.tensor([1.0, 0.5]), decay=0.8, dead_threshold=0.0)
    for _ in range(5):
        vq.quantize(torch.randn(16, 2) * 0.1, learn=True)
    assert torch.allclose(vq.embed[1], torch.tensor([5.0, 5.0]))
    assert vq.cluster_size[1] == pytest.approx(0.5 * 0.8 ** 5)


def test_kmeans_init_on_first_batch_finds_the_clusters():
    torch.manual_seed(0)
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    x = (means[:, None, :] + 0.05 * torch.randn(4, 50, 2)).reshape(-1, 2)
    vq = VectorQuantizer(2, 4, kmeans_iters=5, dead_threshold=0.0)
    assert not bool(vq.initialized)
    vq.quantize(x, learn=True)
    assert bool(vq.initialized)
    found = vq.embed[torch.cdist(means, vq.embed).argmin(1)]
    assert torch.allclose(found, means, atol=0.05)
    assert sorted(torch.cdist(means, vq.embed).argmin(1).tolist()) == [0, 1, 2, 3]


def test_no_learning_in_eval_or_with_learn_false():
    vq = VectorQuantizer(2, 4)
    before = vq.embed.clone()
    vq.quantize(torch.randn(10, 2), learn=False)
    assert torch.equal(vq.embed, before) and not bool(vq.initialized)


def test_dead_codes_are_replaced_by_batch_frames():
    torch.manual_seed(1)
    vq = _vq(torch.zeros(8, 3), torch.tensor([5.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.2, 3.0]), dead_threshold=0.5)
    vq.embed[:2] = torch.tensor([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    live = vq.embed[[0, 1, 7]].clone()
    x = torch.randn(20, 3) + 5
    assert vq.replace_dead(x) == 5
    for j in (2, 3, 4, 5, 6):
        assert (vq.embed[j] == x).all(1).any(), f"code {j} is not a batch frame"
        assert vq.cluster_size[j] == 0.5
    assert torch.equal(vq.embed[[0, 1, 7]], live)


def test_quantizer_dropout_is_per_example_and_codes_decode_to_output():
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(4, n_quantizers=6, codebook_size=16)
    x = torch.randn(32, 4, 5)
    out = rvq(x)  # training mode: dropout
    n = out.n_quantizers
    assert n.shape == (32,) and len(set(n.tolist())) > 2 and n.min() >= 1 and n.max() <= 6
    for b in range(32):
        assert (out.codes[b, : n[b]] >= 0).all() and (out.codes[b, n[b]:] == -1).all()
    assert torch.allclose(out.quantized, rvq.decode(out.codes), atol=1e-5)


def test_fixed_quantizer_count_and_min_quantizers():
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(4, n_quantizers=6, codebook_size=16, min_quantizers=4)
    assert rvq(torch.randn(64, 4, 3)).n_quantizers.min() >= 4
    out = rvq(torch.randn(3, 4, 3), 2)
    assert out.codes.shape == (3, 2, 3) and out.n_quantizers.tolist() == [2, 2, 2]
    with pytest.raises(ConfigError):
        rvq(torch.randn(3, 4, 3), 7)
    with pytest.raises(ShapeError):
        rvq(torch.randn(3, 5, 3))


def test_eval_codes_decode_exactly_to_quantized_and_residual_shrinks():
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(4, n_quantizers=5, codebook_size=32)
    for _ in range(20):  # learn the codebooks a little
        rvq(torch.randn(16, 4, 8))
    rvq.eval()
    x = torch.randn(4, 4, 8)
    errors = []
    for k in range(1, 6):
        out = rvq(x, k)
        assert torch.equal(rvq.decode(out.codes), out.quantized)
        errors.append((x - out.quantized).pow(2).mean().item())
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.5 * errors[0]


def test_commitment_loss_and_straight_through_gradient():
    rvq = ResidualVectorQuantizer(3, n_quantizers=1, codebook_size=4, dead_threshold=0.0)
    x = torch.randn(2, 3, 6, requires_grad=True)
    out = rvq(x, 1)
    vq = rvq.layers[0]
    ref = (x.detach() - out.quantized.detach()).pow(2).mean()
    assert out.commit_loss.item() == pytest.approx(ref.item(), rel=1e-5)
    out.quantized.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))
    assert out.codes.max() < vq.codebook_size


def test_inference_encode_matches_forward_codes():
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(4, n_quantizers=5, codebook_size=32)
    rvq(torch.randn(16, 4, 8))
    x = torch.randn(3, 4, 7)
    for k in (1, 5):
        assert torch.equal(rvq.encode(x, k), rvq(x, k, learn=False).codes)
    with pytest.raises(ConfigError):
        rvq.encode(x, 6)
