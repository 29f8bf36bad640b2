"""Speech for the corpus: espeak-ng reading the project's own sentences.

A *speaker* is an espeak-ng voice variant (m1..m8, f1..f5 and the named variants: its own pitch,
formants and breathiness); an *accent* is the espeak-ng language whose rules read the English
text (British, American, Scottish, Caribbean, ... and German-, French-, Spanish-, ... accented
English). Rate, pitch and word gap are drawn per utterance.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources

import numpy as np

from earshot.errors import DataError, ToolMissingError

ESPEAK_RATE = 22050
ACCENTS = (
    "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
    "en-029", "en-us-nyc", "de", "fr", "es", "it", "nl", "sv", "pl", "pt",
)
NATIVE_ACCENTS = ACCENTS[:8]
SPEAKERS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "antonio", "aunty", "belinda", "benjamin",
    "boris", "caleb", "david", "Denis", "Diogo", "ed", "edward", "Gene", "gustave", "Henrique",
    "Hugo", "iven", "Jacky", "john", "Lee", "linda", "marcelo", "Marco", "Mario", "max", "Michael",
    "michel", "miguel", "Mike", "Nguyen", "pablo", "paul", "pedro", "quincy", "rob", "robert",
    "steph", "Storm", "Tweaky", "zac", "anika", "grandpa", "grandma", "klatt", "norbert", "sandro",
    "shelby", "travis", "victor", "croak", "whisperf",
)


def check_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ToolMissingError("espeak-ng", "espeak-ng")
    return exe


def sentences() -> list[str]:
    """The project's sentence list (``earshot/data/text/sentences.txt``), in file order."""
    text = resources.files("earshot.data").joinpath("text/sentences.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def draw_utterance(rng: np.random.Generator, speakers: list[str], sentence_ids: list[int]) -> dict:
    """Draw one utterance: speaker (from ``speakers``), accent, sentence, rate, pitch, level."""
    native = rng.random() < 0.7
    accent = str(rng.choice(NATIVE_ACCENTS if native else ACCENTS[8:]))
    return {
        "speaker": str(rng.choice(speakers)), "accent": accent,
        "sentence_id": int(rng.choice(sentence_ids)),
        "rate_wpm": int(rng.integers(115, 210)), "pitch": int(rng.integers(20, 80)),
        "word_gap": int(rng.choice((0, 0, 0, 1, 2, 4))), "level_db": float(np.round(rng.uniform(-30, -18), 2)),
    }


def synthesize(params: dict, text: str) -> np.ndarray:
    """Speak ``text`` with the utterance's voice; float32 mono ``(samples,)`` at 22.05 kHz."""
    exe = check_espeak()
    voice = f"{params['accent']}+{params['speaker']}"
    cmd = [exe, "-v", voice, "-s", str(params["rate_wpm"]), "-p", str(params["pitch"]),
           "-g", str(params["word_gap"]), "--stdout", text]
    proc = subprocess.run(cmd, capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise DataError(f"espeak-ng failed for voice {voice}: {proc.stderr.decode(errors='replace')[-300:]}")
    return _wav_samples(proc.stdout, voice)


def _wav_samples(data: bytes, voice: str) -> np.ndarray:
    """16-bit mono samples of espeak-ng's streamed WAV (its header sizes are placeholders)."""
    at = data.find(b"data")
    if not data.startswith(b"RIFF") or at < 0:
        raise DataError(f"espeak-ng gave no WAV audio for voice {voice}")
    pcm = data[at + 8:]
    pcm = pcm[: len(pcm) // 2 * 2]
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    if samples.size == 0 or not np.any(samples):
        raise DataError(f"espeak-ng produced silence for voice {voice}")
    return samples
