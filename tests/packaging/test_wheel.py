"""The wheel works outside the checkout: build it, install it into a fresh virtual environment,
and use it from a folder that is not the repository.

The fresh environment gets earshot from the wheel only; its dependencies (torch, numpy, ...)
come from the test's own environment through a ``.pth`` line, which adds that environment's
site-packages to ``sys.path`` without running its ``.pth`` files, so the editable install of
the checkout stays out. Nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run(cmd: list, cwd: Path, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the working tree (the build leaves the checkout alone)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md", "earshot", "configs"):
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src],
        cwd=src, env=os.environ.copy())
    (found,) = dist.glob("earshot-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> dict:
    """A fresh virtual environment with the wheel installed; returns the environment variables to use it."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", root], cwd=root, env=os.environ.copy())
    python = root / "bin" / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       cwd=root, env=os.environ.copy()).stdout.strip())
    # dependencies from this environment, without its .pth files (earshot's editable finder among them)
    (purelib / "zz_earshot_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
        cwd=root, env=os.environ.copy())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EARSHOT_CONFIGS", "VIRTUAL_ENV")}
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {"env": env, "python": python, "earshot": root / "bin" / "earshot"}


@pytest.fixture
def away(tmp_path) -> Path:
    """A working folder outside the checkout."""
    assert ROOT not in tmp_path.parents
    return tmp_path


def test_wheel_holds_configs_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    repo = {f"earshot/configs/{p.relative_to(ROOT / 'configs')}" for p in (ROOT / "configs").rglob("*.yaml")}
    assert repo and repo <= names
    assert {"earshot/py.typed", "earshot/__main__.py", "earshot/weights/codec-16k.safetensors"} <= names


def test_imports_from_the_wheel_not_the_checkout(venv, away):
    out = run([venv["python"], "-c", "import earshot, earshot.train.config as c; "
               "print(earshot.__file__); print(c.default_configs_dir())"], away, venv["env"]).stdout.split()
    assert all(ROOT not in Path(p).resolve().parents for p in out), out
    assert Path(out[1]).is_dir() and (Path(out[1]) / "codec-16k.yaml").is_file()


def test_help_both_ways(venv, away):
    assert run([venv["earshot"], "--help"], away, venv["env"]).stdout.startswith("usage: earshot ")
    assert "codec" in run([venv["python"], "-m", "earshot", "--help"], away, venv["env"]).stdout


# One process in the fresh environment runs every command (each process pays torch's import).
SESSION = r"""
import contextlib, io, json, sys
import numpy as np, soundfile as sf
from earshot.cli.main import main

t = np.arange(16000) / 16000                       # 1 s: a 200 Hz tone with a 3 Hz envelope, plus noise
clean = 0.2 * np.sin(2 * np.pi * 200 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
sf.write("clean.wav", clean, 16000, subtype="FLOAT")
sf.write("noisy.wav", clean + 0.02 * np.random.default_rng(0).standard_normal(16000), 16000, subtype="FLOAT")
commands = {
    "score": ["score", "noisy.wav", "clean.wav", "--metrics", "snr"],   # estimate first, as every metric
    "encode": ["codec", "encode", "noisy.wav", "--no-progress"],
    "decode": ["codec", "decode", "encoded/noisy.esc", "--subtype", "FLOAT", "--no-progress"],
    "train": ["train", "toy", "train.steps=3", "train.val_every=0", "train.tensorboard=false",
              "train.progress=false", "--run-dir", "run"],
    "config-codec-16k": ["train", "codec", "--config", "codec-16k", "--print-config"],
}
from earshot.train.recipe import discover_recipes
for recipe in discover_recipes():
    commands[f"config-{recipe}"] = ["train", recipe, "--print-config"]
results = {}
for name, argv in commands.items():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    results[name] = {"code": code, "stdout": out.getvalue()}
json.dump(results, open("results.json", "w"))
"""


@pytest.fixture(scope="module")
def session(venv, tmp_path_factory) -> tuple[Path, dict]:
    """(working folder outside the checkout, {command: {code, stdout}}) of SESSION run with the wheel."""
    import json

    away = tmp_path_factory.mktemp("away")
    run([venv["python"], "-c", SESSION], away, venv["env"], timeout=600)
    return away, json.loads((away / "results.json").read_text())


def test_score(session):
    _, results = session
    assert results["score"]["code"] == 0 and "snr" in results["score"]["stdout"].lower()


def test_codec_round_trip_equals_the_library(session):
    import soundfile as sf
    import torch

    from earshot.metrics import mel_distance
    from earshot.weights import load_pretrained

    away, results = session
    assert results["encode"]["code"] == results["decode"]["code"] == 0
    x = torch.from_numpy(sf.read(away / "noisy.wav", dtype="float32")[0]).reshape(1, 1, -1)
    decoded = torch.from_numpy(sf.read(away / "decoded" / "noisy.wav", dtype="float32")[0]).reshape(1, 1, -1)
    with torch.no_grad():
        expected = load_pretrained("codec-16k")(x, 12).audio.clamp(-1, 1)   # 6 kbps = 12 quantizers
    torch.testing.assert_close(decoded, expected, atol=1e-5, rtol=0)
    assert 3 * mel_distance(decoded, x, 16000).item() < mel_distance(torch.zeros_like(x), x, 16000).item()


def test_train_toy_with_the_shipped_config(session):
    away, results = session
    assert results["train"]["code"] == 0 and (away / "run" / "config.yaml").is_file()


def test_print_config_from_the_wheel_equals_the_repository(session, capsys, monkeypatch):
    """Every recipe resolves the same settings from the wheel as from the repository."""
    from earshot.cli.main import main
    from earshot.train.recipe import discover_recipes

    monkeypatch.delenv("EARSHOT_CONFIGS", raising=False)
    runs = {f"config-{r}": ["train", r, "--print-config"] for r in discover_recipes()}
    runs["config-codec-16k"] = ["train", "codec", "--config", "codec-16k", "--print-config"]
    assert {"config-separator", "config-jnd", "config-codec"} <= set(runs)
    for key, argv in runs.items():
        assert main(argv) == 0
        repo = capsys.readouterr().out
        wheel = session[1][key]
        assert wheel["code"] == 0 and "steps:" in repo and wheel["stdout"] == repo, key
