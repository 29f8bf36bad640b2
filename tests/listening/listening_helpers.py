"""Tiny stimuli and experiment files for the listening tests (imported by conftest and tests).

Every stimulus is 0.2 s at 16 kHz; `make_stimuli` writes the audio and one YAML file per
experiment beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

SR = 16000
SECONDS = 0.2
ADMIN = "test-admin-token-0123456789"


def write(path: Path, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.astype(np.float32), SR, subtype="PCM_16")


def tone(freq: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(SECONDS * SR)) / SR
    return amp * np.sin(2 * np.pi * freq * t)


def jnd_level_noise(k: int) -> float:
    """Noise amplitude of JND level k of the test ladders (0 for k = 0; doubling per level)."""
    return 0.0 if k == 0 else 0.001 * 2 ** k


def make_stimuli(root: Path) -> dict[str, Path]:
    """Write every test experiment's audio and YAML under ``root``; returns name -> YAML path."""
    rng = np.random.default_rng(0)
    n = int(SECONDS * SR)
    for i, item in enumerate(["bells", "voice"]):
        ref = tone(440 + 110 * i)
        write(root / "mushra" / item / "reference.wav", ref)
        write(root / "mushra" / item / "anchor.wav", 0.5 * ref)
        write(root / "mushra" / item / "codec_hi.wav", ref + 0.003 * rng.standard_normal(n))
        write(root / "mushra" / item / "codec_lo.wav", ref + 0.05 * rng.standard_normal(n))
    for s in range(3):
        ref = tone(300 + 150 * s)
        noise = rng.standard_normal(n)
        write(root / "pairs" / f"seq{s}" / "reference.wav", ref)
        for k in range(1, 8):
            write(root / "pairs" / f"seq{s}" / f"level_{k:02d}.wav", ref + jnd_level_noise(k) * noise)
    for item in ["a", "b"]:
        for c in range(9):
            write(root / "ab" / item / f"c{c}.wav", tone(200 + 50 * c, 0.1))
    for c in ("plain", "bright", "dark"):
        write(root / "ab3" / "x" / f"{c}.wav", tone(300, 0.1) + 0.01 * rng.standard_normal(n))
    fast = {"api_per_second": 1000, "api_burst": 1000, "audio_per_second": 1000, "audio_burst": 1000,
            "join_per_minute": 100000}
    joins = {"join_per_minute": 600}  # many tests join; the default limits otherwise
    configs = {
        "mushra": {"type": "mushra", "stimuli": str(root / "mushra"), "title": "<script>alert(1)</script> & MUSHRA",
                   "instructions": "Rate <b>each</b> version.", "rate_limit": joins},
        "jnd": {"type": "jnd", "pairs": str(root / "pairs"), "sequences_per_participant": 1,
                "pretest": {"n_trials": 2, "min_correct": 2}, "title": "JND test",
                "rate_limit": joins},
        "ab": {"type": "ab", "stimuli": str(root / "ab3"), "title": "A/B test", "rate_limit": joins},
        "load": {"type": "ab", "stimuli": str(root / "ab"), "volume_check": False, "items_per_participant": 40,
                 "rate_limit": fast},
        "slow": {"type": "ab", "stimuli": str(root / "ab3"), "volume_check": False,
                 "rate_limit": {"api_per_second": 0.1, "api_burst": 3, "join_per_minute": 6}},
    }
    paths = {}
    for name, cfg in configs.items():
        paths[name] = root / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump({"name": name, **cfg}))
    return paths
