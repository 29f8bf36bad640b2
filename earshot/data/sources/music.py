"""Music for the corpus: short pieces the project composes as MIDI, rendered by fluidsynth.

``draw_song(rng, seconds)`` draws a song's parameters (style, key, mode, tempo, meter, chord
progression, General MIDI instruments, patterns, dynamics, and a seed for note-level choices);
``compose(params)`` turns them deterministically into a Standard MIDI File; ``render(params,
sample_rate)`` plays it through fluidsynth with the Debian GM soundfont.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from earshot.data.sources.midi import Note, Track, write_smf
from earshot.errors import DataError, ToolMissingError

SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")
TPB = 480  # ticks per beat
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10), "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
}
PROGRESSIONS = (  # scale degrees, 0-based (0 = I / i)
    (0, 4, 5, 3), (0, 3, 4, 0), (5, 3, 0, 4), (1, 4, 0, 0), (0, 5, 3, 4), (0, 3, 0, 4),
    (0, 6, 5, 4), (0, 2, 3, 4), (0, 0, 3, 3, 4, 4, 0, 0), (3, 4, 2, 5), (0, 5, 1, 4), (0, 4, 3, 3),
)
MELODY = (0, 4, 10, 11, 12, 13, 21, 22, 24, 25, 27, 29, 40, 41, 42, 56, 57, 60, 65, 66, 68, 71, 72,
          73, 75, 78, 79, 80, 81, 82, 104, 105, 108, 114)
CHORDS = (0, 1, 4, 5, 6, 16, 18, 19, 24, 25, 27, 46, 48, 49, 50, 52, 61, 88, 89, 90)
BASS = (32, 33, 34, 35, 36, 38, 39, 43, 58)
KITS = (0, 8, 16, 24, 25, 32, 40)
STYLES = ("band", "ballad", "chamber", "solo", "electronic", "waltz", "latin")
CHORD_PATTERNS = ("block", "half", "arpeggio", "strum", "offbeat")
BASS_PATTERNS = ("root", "pulse", "root_fifth", "walking", "octave")
DYNAMICS = ("flat", "crescendo", "decrescendo", "swell")
DRUM_PATTERNS = {  # per beat subdivision (8ths): instrument -> hits (positions in eighths of a bar)
    "rock": {36: (0, 4), 38: (2, 6), 42: (0, 1, 2, 3, 4, 5, 6, 7)},
    "four_on_floor": {36: (0, 2, 4, 6), 39: (2, 6), 42: (1, 3, 5, 7)},
    "halftime": {36: (0, 3), 38: (4,), 42: (0, 2, 4, 6)},
    "shuffle": {36: (0, 4), 38: (2, 6), 51: (0, 2, 3, 4, 6, 7)},
    "bossa": {36: (0, 3, 4, 7), 37: (0, 3, 6), 42: (0, 1, 2, 3, 4, 5, 6, 7)},
    "waltz": {36: (0,), 38: (2, 4), 42: (0, 2, 4)},
}


def find_soundfont() -> str:
    """Path of an installed General MIDI soundfont, or ToolMissingError naming the package."""
    env = os.environ.get("EARSHOT_SOUNDFONT")
    for path in ((env,) if env else ()) + SOUNDFONTS:
        if path and Path(path).is_file():
            return path
    raise ToolMissingError("General MIDI soundfont (FluidR3_GM.sf2)", "fluid-soundfont-gm")


def check_fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ToolMissingError("fluidsynth", "fluidsynth")
    return exe


def draw_song(rng: np.random.Generator, seconds: float) -> dict:
    """Draw one song's parameters (everything random about it, so rendering is deterministic)."""
    style = str(rng.choice(STYLES))
    minorish = rng.random() < 0.45
    drums = style in ("band", "electronic", "latin", "waltz") or (style == "ballad" and rng.random() < 0.5)
    meter = 3 if style == "waltz" else 4
    bpm = {"ballad": (60, 90), "chamber": (70, 120), "solo": (66, 110), "electronic": (110, 140),
           "waltz": (84, 150), "latin": (90, 130)}.get(style, (80, 150))
    melody = int(rng.choice((81, 80, 82, 4) if style == "electronic" else MELODY))
    chords = int(rng.choice((90, 89, 50, 88) if style == "electronic" else CHORDS))
    if style == "solo":
        chords = melody = int(rng.choice((0, 1, 4, 24, 25, 46, 11, 12)))
    pattern = {"electronic": "four_on_floor", "waltz": "waltz", "latin": "bossa",
               "ballad": "halftime"}.get(style, str(rng.choice(("rock", "shuffle", "halftime", "rock"))))
    return {
        "seed": int(rng.integers(0, 2**31 - 1)), "style": style, "seconds": float(seconds),
        "key": int(rng.integers(0, 12)),
        "scale": str(rng.choice(("minor", "dorian", "harmonic_minor") if minorish else ("major", "mixolydian", "major"))),
        "bpm": int(rng.integers(*bpm)), "meter": meter,
        "progression": list(PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]),
        "programs": {"melody": melody, "chords": chords, "bass": None if style == "solo" else (
            38 if style == "electronic" else int(rng.choice(BASS))),
            "kit": (25 if style == "electronic" else int(rng.choice(KITS))) if drums else None},
        "chord_pattern": str(rng.choice(("arpeggio", "block") if style in ("solo", "chamber") else CHORD_PATTERNS)),
        "bass_pattern": str(rng.choice(BASS_PATTERNS)), "drum_pattern": pattern if drums else None,
        "velocity": int(rng.integers(55, 112)), "dynamics": str(rng.choice(DYNAMICS)),
        "swing": bool(pattern == "shuffle" or rng.random() < 0.15),
        "reverb": int(rng.integers(10, 90)),
    }


def compose(params: dict) -> bytes:
    """The song described by ``params`` as Standard MIDI File bytes (deterministic)."""
    tracks, _ = _song(params)
    meta = Track()
    meta.tempo(params["bpm"])
    meta.meter(params["meter"])
    return write_smf([meta] + tracks, ticks_per_beat=TPB)


def render(params: dict, sample_rate: int, *, gain: float = 0.5) -> np.ndarray:
    """Render one song with fluidsynth; float32 mono ``(samples,)`` at ``sample_rate``."""
    return render_many([params], sample_rate, gain=gain)[0]


def render_many(songs: list[dict], sample_rate: int, *, gain: float = 0.5, gap_ms: int = 2000) -> list[np.ndarray]:
    """Render several songs in one fluidsynth run (the soundfont loads once) and cut them apart.

    The songs are laid end to end on a millisecond grid with ``gap_ms`` of silence between them
    (controllers and sounding notes are reset at each start). Each comes back float32 mono,
    exactly ``round(seconds * sample_rate)`` samples long.
    """
    exe, soundfont = check_fluidsynth(), find_soundfont()
    track, starts, at = Track(), [], gap_ms // 4
    track.tempo(60000 / 500)  # 120 bpm at 500 ticks per beat: one tick per millisecond
    for params in songs:
        starts.append(at)
        for channel in (0, 1, 2, 9):
            track.control(channel, 120, 0, tick=max(0, at - 5))
            track.control(channel, 121, 0, tick=max(0, at - 5))
        scale = 60000 / (params["bpm"] * TPB)  # ms per song tick
        song_tracks, end = _song(params)
        for t in song_tracks:
            track.events += [(at + round(tick * scale), e) for tick, e in t.events]
            track.notes += [Note(at + round(n.start * scale), max(1, round(n.length * scale)), n.channel, n.pitch, n.velocity)
                            for n in t.notes]
        at += int(round(params["seconds"] * 1000)) + gap_ms
    track.control(0, 121, 0, tick=at)
    with tempfile.TemporaryDirectory(prefix="earshot-songs-") as tmp:
        mid, raw = Path(tmp) / "songs.mid", Path(tmp) / "songs.raw"
        mid.write_bytes(write_smf([track], ticks_per_beat=500))
        cmd = [exe, "-n", "-i", "-q", "-r", str(sample_rate), "-g", str(gain), "-o", "synth.cpu-cores=1",
               "-o", "audio.file.endian=little", "-T", "raw", "-O", "float", "-F", str(raw), soundfont, str(mid)]
        proc = subprocess.run(cmd, capture_output=True, timeout=3600)
        if proc.returncode != 0 or not raw.exists():
            raise DataError(f"fluidsynth failed: {proc.stderr.decode(errors='replace')[-300:]}")
        audio = np.frombuffer(raw.read_bytes(), dtype="<f4").reshape(-1, 2).mean(axis=1)
    out = []
    for params, start_ms in zip(songs, starts):
        a, n = int(round(start_ms * sample_rate / 1000)), int(round(params["seconds"] * sample_rate))
        piece = audio[a:a + n]
        out.append(np.pad(piece, (0, n - len(piece))).astype(np.float32))
    return out


def _song(params: dict) -> tuple[list[Track], int]:
    """The song's tracks (ticks at ``TPB`` per beat, no tempo event) and its length in ticks.

    The song is composed a little longer than ``params["seconds"]`` and then cut, so it never
    ends early; the last bar holds the final chord.
    """
    rng = np.random.default_rng(params["seed"])
    beats = params["meter"]
    bar = beats * TPB
    n_bars = max(2, math.ceil(params["seconds"] * params["bpm"] / 60 / beats) + 1)
    scale = SCALES[params["scale"]]
    root = 48 + params["key"]
    prog = params["progression"]
    chords = [_triad(root, scale, prog[i % len(prog)], seventh=rng.random() < 0.2) for i in range(n_bars)]
    dyn = _dynamics(params, n_bars)
    parts = (("melody", 0, lambda: _melody(rng, chords, scale, root + 12, bar, beats)),
             ("chords", 1, lambda: _chords(rng, chords, bar, beats, params["chord_pattern"])),
             ("bass", 2, lambda: _bass(rng, chords, scale, root - 12, bar, beats, params["bass_pattern"])),
             ("kit", 9, lambda: _drums(rng, n_bars, bar, beats, params["drum_pattern"])))
    tracks = []
    for name, channel, make in parts:
        program = params["programs"][name]
        if program is None:
            continue
        track = Track()
        track.program(channel, program)
        track.control(channel, 7, int(rng.integers(80, 118)) if name != "chords" else int(rng.integers(60, 95)))
        track.control(channel, 10, 64 + int(rng.integers(-30, 31)) * (name != "bass"))
        track.control(channel, 91, params["reverb"])
        swing = params["swing"] and name != "bass"
        for n in make():
            start = n.start + (TPB // 6 if swing and n.start % TPB == TPB // 2 else 0)
            start = max(0, start + int(rng.integers(-8, 9)))
            vel = n.velocity * params["velocity"] / 100 * dyn[min(n.start // bar, n_bars - 1)]
            track.notes.append(Note(start, n.length, channel, n.pitch, int(np.clip(vel + rng.integers(-6, 7), 1, 127))))
        tracks.append(track)
    return tracks, n_bars * bar


# ----------------------------------------------------------------------------- note makers

def _triad(root: int, scale, degree: int, *, seventh: bool) -> list[int]:
    steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
    return [root + scale[(degree + s) % 7] + 12 * ((degree + s) // 7) for s in steps]


def _dynamics(params: dict, n_bars: int) -> np.ndarray:
    x = np.linspace(0, 1, n_bars)
    shape = {"flat": np.ones_like(x), "crescendo": 0.6 + 0.55 * x, "decrescendo": 1.15 - 0.55 * x,
             "swell": 0.65 + 0.5 * np.sin(np.pi * x)}[params["dynamics"]]
    return shape


def _melody(rng, chords, scale, base, bar, beats) -> list[Note]:
    cells = ((2, 2, 2, 2), (4, 2, 2), (1, 1, 2, 2, 2), (3, 1, 2, 2), (2, 1, 1, 4), (6, 2), (8,), (2, 2, 4))
    cells3 = ((2, 2, 2), (4, 2), (3, 1, 2), (6,), (1, 1, 2, 2))
    pool = cells if beats == 4 else cells3
    degree = int(rng.integers(0, 7))
    phrase = [pool[int(rng.integers(len(pool)))] for _ in range(4)]
    notes = []
    for i, chord in enumerate(chords[:-1]):
        rhythm = phrase[i % 4] if rng.random() < 0.7 else pool[int(rng.integers(len(pool)))]
        t = i * bar
        for j, eighths in enumerate(rhythm):
            length = eighths * TPB // 2
            if rng.random() < 0.1:  # a rest
                t += length
                continue
            degree = int(np.clip(degree + rng.choice((-2, -1, -1, 0, 1, 1, 2, 3, -3)), -3, 10))
            pitch = base + scale[degree % 7] + 12 * (degree // 7)
            if j == 0:  # strong beat: the nearest chord tone
                pitch = min((c + 12 * k for c in chord for k in (0, 1, 2)), key=lambda p: abs(p - pitch))
            notes.append(Note(t, int(length * 0.9), 0, pitch, 96 if j == 0 else 84))
            t += length
    return notes


def _chords(rng, chords, bar, beats, pattern) -> list[Note]:
    notes = []
    for i, chord in enumerate(chords):
        t, voiced = i * bar, [p + 12 for p in chord]
        if pattern == "block" or i == len(chords) - 1:
            notes += [Note(t, bar - 20, 1, p, 70) for p in voiced]
        elif pattern == "half":
            for k in range(0, beats, 2):
                notes += [Note(t + k * TPB, 2 * TPB - 20, 1, p, 68 if k else 74) for p in voiced]
        elif pattern == "arpeggio":
            order = voiced + [voiced[1] + 12, voiced[0] + 12]
            for k in range(beats * 2):
                notes.append(Note(t + k * TPB // 2, TPB, 1, order[k % len(order)], 66))
        elif pattern == "strum":
            for k in range(beats):
                notes += [Note(t + k * TPB + 12 * s, TPB - 40, 1, p, 72 if k == 0 else 60) for s, p in enumerate(voiced)]
        else:  # offbeat
            for k in range(beats):
                notes += [Note(t + k * TPB + TPB // 2, TPB // 3, 1, p, 64) for p in voiced]
    return notes


def _bass(rng, chords, scale, base, bar, beats, pattern) -> list[Note]:
    notes = []
    for i, chord in enumerate(chords):
        t = i * bar
        r = base + (chord[0] - base) % 12
        nxt = base + (chords[(i + 1) % len(chords)][0] - base) % 12
        if pattern == "root" or i == len(chords) - 1:
            notes.append(Note(t, bar - 30, 2, r, 90))
        elif pattern == "pulse":
            notes += [Note(t + k * TPB, TPB - 40, 2, r, 92 if k == 0 else 78) for k in range(beats)]
        elif pattern == "root_fifth":
            half = bar // 2
            notes += [Note(t, half - 30, 2, r, 90), Note(t + half, half - 30, 2, r + 7, 80)]
        elif pattern == "walking":
            line = np.linspace(r, nxt + (12 if nxt < r - 4 else 0), beats + 1)[:-1]
            notes += [Note(t + k * TPB, TPB - 30, 2, int(round(p)), 85) for k, p in enumerate(line)]
        else:  # octave eighths
            notes += [Note(t + k * TPB // 2, TPB // 2 - 30, 2, r + 12 * (k % 2), 80) for k in range(beats * 2)]
    return notes


def _drums(rng, n_bars, bar, beats, pattern) -> list[Note]:
    hits = DRUM_PATTERNS[pattern]
    notes = []
    for i in range(n_bars - 1):
        t = i * bar
        if i % 4 == 0:
            notes.append(Note(t, TPB, 9, 49, 100))
        fill = i % 4 == 3 and rng.random() < 0.6
        for inst, positions in hits.items():
            for pos in positions:
                if pos >= beats * 2 or (fill and pos >= beats):
                    continue
                notes.append(Note(t + pos * TPB // 2, TPB // 4, 9, inst, 100 if pos % 2 == 0 else 75))
        if fill:
            for k, tom in enumerate((50, 48, 47, 45, 43, 41)[: beats]):
                notes.append(Note(t + beats * TPB // 2 + k * TPB // 2, TPB // 4, 9, tom, 90))
    notes.append(Note((n_bars - 1) * bar, TPB, 9, 49, 95))
    return notes
