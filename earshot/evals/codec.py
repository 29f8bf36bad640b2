"""The shipped SoundStream codec vs Opus and MP3 at 3, 6 and 12 kbps.

    run(CodecEval(kbps=[3, 6, 12], items=8)) -> Section    # `earshot eval codec [--kbps 3 6 12] [--items 8]`

Held-out (``test`` split) speech and music excerpts of the corpus go through our codec (via
the real ``.esc`` bitstream, so the bitrate is the file's), and through the real Opus (libopus)
and MP3 (LAME) encoders. Opus cannot go below 6 kbps and LAME at 16 kHz offers 8, 16, 24 ...
kbps CBR, so each baseline runs at the lowest bitrate it supports that is >= the target; the
table shows the bitrate each system really used. Metrics per item, averaged: PESQ (wide band,
speech only), STOI, DAC mel distance, SI-SDR and, when its weights are installed, the learned
JND distance. ``noisy=SNR_DB`` codes noisy versions of the clips (corpus noise of the same
split), scores them against the clean ones, and adds our codec with its denoise flag on.
Writes, for the first clip of each kind, its decodings (``audio/``) and their spectrograms
(``spectrograms_*.png``) under ``out``; the command writes the tables beside them.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import ConfigError, EarshotError

log = logging.getLogger("earshot.evals.codec")
CORPUS = DEFAULT_CORPUS
METRICS = ("pesq", "stoi", "mel_distance", "si_sdr", "jnd")
HIGHER_IS_BETTER = {"pesq": True, "stoi": True, "mel_distance": False, "si_sdr": True, "jnd": False}


@dataclass
class CodecEval:
    """Settings of the codec evaluation."""

    model: str = "codec-16k"          # shipped codec weights
    corpus: str = CORPUS              # corpus root
    split: str = "test"               # corpus split to evaluate on
    kbps: list[float] = field(default_factory=lambda: [3.0, 6.0, 12.0])  # target bitrates
    items: int = 8                    # items per kind (speech, music)
    seconds: float = 4.0              # excerpt length per item
    baselines: bool = True            # code with Opus and MP3 too
    noisy: float | None = None        # code the clips with corpus noise mixed in at this SNR (dB), scored against the clean clips, and add our codec with its denoise flag on (soundstream+denoise)
    out: str = "runs/eval-codec"      # output folder


def load_codec(name: str):
    """The shipped SoundStream ``name`` (eval mode); ConfigError if the weights are another model."""
    from earshot.models.codec import SoundStream
    from earshot.weights import load_pretrained

    model = load_pretrained(name)
    if not isinstance(model, SoundStream):
        raise ConfigError(f"weights {name!r} are a {type(model).__name__}, not a SoundStream codec")
    return model.eval()


def load_clips(root, split: str, items: int, seconds: float, sample_rate: int, *, kinds=("speech", "music"),
               origin: str = "all") -> dict[str, list]:
    """``{kind: [(name, (1, 1, T) tensor), ...]}``: the first ``seconds`` of the first ``items``
    files per kind in ``split`` of ``origin`` (``"all"``, ``"real"`` or ``"synthetic"``);
    ConfigError naming the kind when there is none."""
    from earshot.audio.io import load
    from earshot.data.corpus import load_manifest

    clips = {}
    for kind in kinds:
        found = [i for i in load_manifest(root, kind=kind, split=split)
                 if origin == "all" or i.origin == origin][:items]
        if not found:
            raise ConfigError(f"{root}: no {'' if origin == 'all' else origin + ' '}{kind} items in split {split!r}")
        clips[kind] = [(Path(i.path).name, load(i.path, sample_rate=sample_rate, mono=True)[0][None, :, : int(seconds * sample_rate)])
                       for i in found]
    return clips


def ours(model, name: str, *, denoise: bool = False):
    """``code(clip, kbps) -> (decoded, kbps actually used)`` through the real bitstream, with the
    denoise flag on or off."""
    from earshot.models.codec import bitstream

    model_id = bitstream.model_fingerprint(model)

    def code(clip: torch.Tensor, kbps: float):
        n_q = model.quantizers_for_kbps(kbps)
        with torch.inference_mode():
            codes = model.encode(clip, n_q, denoise=denoise)[0]
            data = bitstream.to_bytes(bitstream.Bitstream(
                codes=codes, model_id=model_id, model_name=name, sample_rate=model.sample_rate,
                bits=model.bits_per_code, n_samples=clip.shape[-1], denoise=denoise))
            back = bitstream.from_bytes(data)
            audio = model.decode(back.codes[None], denoise=back.denoise, length=back.n_samples)
        return audio, model.bitrate(n_q)
    return code


def add_noise(clips: dict, root, split: str, snr_db: float, sample_rate: int, seed: int = 0) -> dict:
    """``clips`` with corpus noise of ``split`` mixed in at ``snr_db`` (same structure; peaks kept below 1);
    noise files drawn in turn from a torch generator seeded with ``seed``."""
    from earshot.experiments.mixing import corpus_noises, fit_and_mix

    noises = corpus_noises(root, split, sample_rate)
    rng = torch.Generator().manual_seed(seed)
    return {kind: [(name, fit_and_mix(clip, noises[int(torch.randint(len(noises), (1,), generator=rng))][None], snr_db))
                   for name, clip in items] for kind, items in clips.items()}


def baselines(sample_rate: int) -> dict:
    from earshot.audio.codecs import MP3_CBR_KBPS, OPUS_KBPS_RANGE, mp3_roundtrip, opus_roundtrip

    def opus(clip, kbps):
        rate = max(kbps, OPUS_KBPS_RANGE[0])
        return opus_roundtrip(clip, sample_rate, kbps=rate), rate

    def mp3(clip, kbps):
        rate = next((k for k in MP3_CBR_KBPS if k >= kbps), MP3_CBR_KBPS[-1])
        return mp3_roundtrip(clip, sample_rate, kbps=rate), float(rate)
    return {"opus": opus, "mp3": mp3}


def measure(decoded: torch.Tensor, clip: torch.Tensor, kind: str, sample_rate: int, jnd) -> dict:
    from earshot.metrics import mel_distance, pesq, si_sdr, stoi

    out = {"stoi": stoi(decoded, clip, sample_rate), "mel_distance": mel_distance(decoded, clip, sample_rate),
           "si_sdr": si_sdr(decoded, clip)}
    if kind == "speech":
        out["pesq"] = pesq(decoded, clip, sample_rate)
    if jnd is not None:
        out["jnd"] = jnd(decoded, clip, sample_rate)
    return {k: float(v[0]) for k, v in out.items()}


def jnd_metric(sample_rate: int):
    """The JND distance function, or None (with a logged note) when it cannot run here."""
    try:
        from earshot.metrics.jnd import jnd_distance

        jnd_distance(torch.zeros(1, 1, sample_rate), 0.1 * torch.ones(1, 1, sample_rate), sample_rate)
        return jnd_distance
    except (ImportError, EarshotError) as exc:
        log.warning("JND distance unavailable (%s)", exc)
        return None


def evaluate(systems: dict, clips: dict, kbps_list, sample_rate: int, jnd=None,
             keep: dict | None = None, inputs: dict | None = None) -> tuple[list, list]:
    """Code every clip with every system at every bitrate; return (summary rows, per-item rows).

    ``inputs`` (same structure as ``clips``, e.g. noisy versions) are coded instead of the clips,
    which stay the references. ``keep``, if given, receives the decoded first clip of each kind:
    ``{(kind, system, kbps): (1, 1, T)}``.
    """
    per_item = []
    inputs = inputs or clips
    jobs = [(s, k, kind, name, clip, coded) for s in systems for k in kbps_list
            for kind, items in clips.items() for (name, clip), (_, coded) in zip(items, inputs[kind])]
    for system, kbps, kind, name, clip, coded in tqdm(jobs, desc="codec eval", file=sys.stderr):
        decoded, used = systems[system](coded, kbps)
        if keep is not None and name == clips[kind][0][0]:
            keep[(kind, system, kbps)] = decoded
        per_item.append({"system": system, "kbps": kbps, "kbps_used": used, "kind": kind, "item": name,
                         **measure(decoded, clip, kind, sample_rate, jnd)})
    return summarise(per_item), per_item


def write_examples(kept: dict, clips: dict, out: Path, sample_rate: int,
                   inputs: dict | None = None) -> tuple[list[Path], list[Path]]:
    """``audio/<kind>-reference.wav`` (and ``<kind>-noisy-input.wav`` given ``inputs``) and
    ``audio/<kind>-<kbps>kbps-<system>.wav`` for the first clip of each kind, and
    ``spectrograms_<kind>.png`` of the reference and every system at the middle bitrate.
    Returns ``(wavs, pngs)``: the files written (not whatever else ``out`` holds)."""
    from earshot.audio.io import save
    from earshot.report.plots import spectrograms

    wavs, pngs = [], []

    def wav(name: str, audio: torch.Tensor) -> None:
        wavs.append(save(out / "audio" / f"{name}.wav", audio, sample_rate, overwrite=True))

    for kind, items in clips.items():
        reference = items[0][1][0]
        wav(f"{kind}-reference", reference)
        if inputs is not None:
            wav(f"{kind}-noisy-input", inputs[kind][0][1][0])
        decoded = {(system, kbps): audio[0] for (k_kind, system, kbps), audio in kept.items() if k_kind == kind}
        for (system, kbps), audio in decoded.items():
            wav(f"{kind}-{kbps:g}kbps-{system}", audio)
        rates = sorted({kbps for _, kbps in decoded})
        if rates:
            middle = rates[len(rates) // 2]
            panels = [("reference", reference)] + [(f"{system}, target {middle:g} kbps", audio)
                                                   for (system, kbps), audio in decoded.items() if kbps == middle]
            pngs.append(out / f"spectrograms_{kind}.png")
            pngs[-1].write_bytes(spectrograms(panels, sample_rate))
    return wavs, pngs


def summarise(per_item: list[dict]) -> list[dict]:
    rows, keys = [], sorted({(r["kbps"], r["kind"], r["system"]) for r in per_item},
                            key=lambda k: (k[0], k[1], not k[2].startswith("soundstream"), k[2]))
    for kbps, kind, system in keys:
        group = [r for r in per_item if (r["kbps"], r["kind"], r["system"]) == (kbps, kind, system)]
        row = {"kbps": kbps, "kind": kind, "system": system, "kbps_used": group[0]["kbps_used"], "items": len(group)}
        for m in METRICS:
            vals = [r[m] for r in group if m in r and not math.isnan(r[m])]
            if vals:
                row[m] = sum(vals) / len(vals)
        rows.append(row)
    return rows


def table(rows: list[dict], title: str = "Codec comparison", notes: str = ""):
    """The summary rows as an `earshot.report.Table` (one row per bitrate, kind and system)."""
    from earshot.report import Table

    cols = [m for m in METRICS if any(m in r for r in rows)]
    body = [[f"{r['kbps']:g}", r["kind"], r["system"], f"{r['kbps_used']:g}", *(r.get(m, "-") for m in cols)]
            for r in rows]
    return Table(title, ["target kbps", "kind", "system", "kbps used",
                         *(f"{m} {'↑' if HIGHER_IS_BETTER[m] else '↓'}" for m in cols)], body, notes)


def markdown(rows: list[dict]) -> str:
    """The summary table's Markdown pipe rows (`earshot.report.table_markdown`, without its title)."""
    from earshot.report import table_markdown

    return table_markdown(table(rows)).split("\n\n", 1)[1].rstrip("\n")


def run(cfg: CodecEval | None = None):
    """Code the held-out clips with every system and bitrate; return the report `Section`."""
    from earshot.report import Clip, Figure, Section

    cfg = cfg or CodecEval()
    torch.set_num_threads(1)
    model = load_codec(cfg.model)
    sr = model.sample_rate
    clips = load_clips(cfg.corpus, cfg.split, cfg.items, cfg.seconds, sr)
    systems = {"soundstream": ours(model, cfg.model)}
    inputs = None
    if cfg.noisy is not None:
        inputs = add_noise(clips, cfg.corpus, cfg.split, cfg.noisy, sr)
        systems["soundstream+denoise"] = ours(model, cfg.model, denoise=True)
    if cfg.baselines:
        systems.update(baselines(sr))
    kept: dict = {}
    rows, per_item = evaluate(systems, clips, cfg.kbps, sr, jnd_metric(sr), keep=kept, inputs=inputs)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    wavs, pngs = write_examples(kept, clips, out, sr, inputs)
    noisy = "" if cfg.noisy is None else f" Inputs with corpus noise at {cfg.noisy:g} dB SNR, scored against the clean clips."
    intro = (f"Model `{cfg.model}` ({sr} Hz), corpus `{cfg.corpus}` split `{cfg.split}`, {cfg.items} items per kind, "
             f"first {cfg.seconds:g} s of each.{noisy}")
    return Section("codec", "Neural codec against Opus and MP3", intro=intro, tables=[table(rows)],
                   figures=[Figure(p.stem.replace("_", " "), p.read_bytes()) for p in pngs],
                   clips=[Clip(w.stem, w.relative_to(out).as_posix()) for w in wavs],
                   results={"model": cfg.model, "sample_rate": sr, "corpus": str(cfg.corpus), "split": cfg.split,
                            "seconds": cfg.seconds, "noisy_snr_db": cfg.noisy, "rows": rows, "items": per_item})


__all__ = ["CodecEval", "baselines", "evaluate", "load_clips", "markdown", "ours", "run", "summarise", "table",
           "write_examples"]
