"""Stateful metrics: accumulate over batches like torchmetrics, and sync over processes."""

from __future__ import annotations

import json
import math
import socket
import warnings

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from earshot.errors import ShapeError
from earshot.metrics import PESQ, SISDR, STOI, MelDistance, mel_distance, pesq, si_sdr, stoi

from metric_signals import add_noise, speechlike

SR = 16000


def batches(n_batches: int = 4, size: int = 2, seconds: float = 0.6):
    """A validation set: (estimate, reference) batches of speech-like clips at falling SNRs; the
    last item of the last batch is too short to have a STOI (its tail is silent)."""
    out = []
    for b in range(n_batches):
        ref = torch.cat([speechlike(seconds=seconds, seed=10 * b + i) for i in range(size)])
        est = torch.cat([add_noise(ref[i:i + 1], 25.0 - 5 * b - i, seed=b * size + i) for i in range(size)])
        out.append((est, ref))
    est, ref = out[-1]
    ref[-1, :, 4000:] = 0
    est[-1, :, 4000:] = 0
    return out


def make():
    return {"si_sdr": SISDR(), "mel": MelDistance(SR), "stoi": STOI(SR), "pesq": PESQ(SR)}


FUNCTIONS = {"si_sdr": si_sdr, "mel": lambda e, r: mel_distance(e, r, SR), "stoi": lambda e, r: stoi(e, r, SR),
             "pesq": lambda e, r: pesq(e, r, SR)}


def expected(data) -> dict[str, float]:
    """The mean of the functional metric over every finite item of the whole set."""
    est = torch.cat([e for e, _ in data])
    ref = torch.cat([r for _, r in data])
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in FUNCTIONS.items():
            v = fn(est, ref).double()
            out[name] = float(v[torch.isfinite(v)].mean())
    return out


def run_loop(metrics, data) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est, ref in data:
            for m in metrics.values():
                m.update(est, ref)
        return {name: float(m.compute()) for name, m in metrics.items()}


def test_a_validation_loop_accumulates_the_mean_over_every_item():
    data = batches()
    metrics = make()
    got = run_loop(metrics, data)
    for name, value in expected(data).items():
        assert got[name] == pytest.approx(value, rel=1e-5, abs=1e-5), name
    assert metrics["stoi"].undefined == 1 and metrics["stoi"].count == 7  # the short item is NaN
    assert metrics["si_sdr"].undefined == 0 and metrics["si_sdr"].count == 8
    # forward: this batch's value, and it accumulates too
    m = SISDR()
    first = m(*data[0])
    assert float(first) == pytest.approx(float(si_sdr(*data[0]).mean()), rel=1e-5)
    m(*data[1])
    assert float(m.compute()) == pytest.approx(float(torch.cat([si_sdr(*data[0]), si_sdr(*data[1])]).mean()),
                                               rel=1e-5)
    m.reset()
    assert math.isnan(float(m.compute())) and m.count == 0
    with pytest.raises(ShapeError):
        m.update(data[0][0], data[0][1][..., :-1])


def _worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        data = batches()
        metrics = make()
        got = run_loop(metrics, data[rank::world])  # each rank sees half of the batches
        local = {name: float(m.total / m.count) for name, m in metrics.items()}
        counts = {name: int(m.count) for name, m in metrics.items()}
        with open(f"{out}.{rank}", "w") as f:
            json.dump({"synced": got, "local": local, "counts": counts}, f)
    finally:
        dist.destroy_process_group()


def test_two_processes_sync_to_the_single_process_value(tmp_path):
    with socket.socket() as s:  # a free loopback port for the gloo rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "result")
    mp.spawn(_worker, args=(2, port, out), nprocs=2, join=True)
    ranks = [json.loads(open(f"{out}.{r}").read()) for r in range(2)]
    want = expected(batches())
    for name, value in want.items():
        for r in ranks:
            assert r["synced"][name] == pytest.approx(value, rel=1e-5, abs=1e-5), name
    # the halves differ (so the sync did something), and each rank kept its own states
    assert ranks[0]["local"]["si_sdr"] != pytest.approx(ranks[1]["local"]["si_sdr"], rel=1e-3)
    assert ranks[0]["counts"]["stoi"] + ranks[1]["counts"]["stoi"] == 7


def test_jnd_distance_accumulates_like_the_function():
    from earshot.metrics import JNDDistance
    from earshot.metrics.jnd import jnd_distance

    g = torch.Generator().manual_seed(0)
    ref = 0.1 * torch.randn(4, 1, SR, generator=g)
    est = ref + torch.tensor([0.0, 0.003, 0.01, 0.03]).reshape(4, 1, 1) * torch.randn(4, 1, SR, generator=g)
    m = JNDDistance(SR)
    first = m(est[:2], ref[:2])
    m.update(est[2:], ref[2:])
    want = jnd_distance(est, ref, SR)
    assert float(first) == pytest.approx(float(want[:2].mean()), rel=1e-5)
    assert float(m.compute()) == pytest.approx(float(want.mean()), rel=1e-5)
    assert want[0] == 0 and want[3] > want[1]  # identical clips: 0; more noise: farther


@pytest.mark.gpu
def test_states_and_inputs_on_cuda_give_the_cpu_value():
    data = batches(n_batches=2)
    cpu, gpu = {"si_sdr": SISDR(), "mel": MelDistance(SR)}, {"si_sdr": SISDR().cuda(), "mel": MelDistance(SR).cuda()}
    for est, ref in data:
        for name in cpu:
            cpu[name].update(est, ref)
            gpu[name].update(est.cuda(), ref.cuda())
    for name in cpu:
        assert gpu[name].total.device.type == "cuda"
        assert float(gpu[name].compute()) == pytest.approx(float(cpu[name].compute()), rel=1e-4, abs=1e-4), name
