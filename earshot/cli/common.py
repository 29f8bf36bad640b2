"""Helpers shared by command modules: the parser every command uses, the options every writing
command shares (``--overwrite``, ``--quiet``, ``--progress``, ``--device``), ``key=value``
overrides, and batch jobs over files that skip a bad file, say so once, and end non-zero.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from earshot.errors import AudioFileError, ConfigError, EarshotError

log = logging.getLogger("earshot")


# --------------------------------------------------------------------------- parsers


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Prose paragraphs of descriptions and epilogs are wrapped to the terminal; a paragraph with
    indented lines (examples, tables) keeps its layout. Each option's help ends with its default
    unless the help already states it or the default is empty (``None``, ``False``, ``[]``)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = textwrap.dedent(text).strip("\n").split("\n\n")
        out = []
        for para in paragraphs:
            if any(line[:1].isspace() for line in para.splitlines()):
                out.append("\n".join(indent + line for line in para.splitlines()))
            else:
                out.append(textwrap.fill(" ".join(para.split()), width, initial_indent=indent,
                                         subsequent_indent=indent))
        return "\n\n".join(out)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        empty = default is None or default is False or default is argparse.SUPPRESS or (isinstance(default, list)
                                                                                   and not default)
        if empty or "default" in text.lower():
            return text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


class _SubParsers(argparse._SubParsersAction):
    """Sub-commands get the house formatter and use their one-line help as description."""

    def add_parser(self, name, **kwargs):
        kwargs.setdefault("description", kwargs.get("help"))
        kwargs.setdefault("formatter_class", HelpFormatter)
        return super().add_parser(name, **kwargs)


class EarshotParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter`; its sub-parsers are EarshotParsers."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubParsers)


def examples(*lines: str) -> str:
    """An epilog of example command lines, one per line, laid out as written."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


# --------------------------------------------------------------------------- shared options


def add_overwrite_option(p: argparse.ArgumentParser) -> None:
    """``--overwrite``: replace existing outputs (inputs are never written over)."""
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (never an input)")


def add_progress_options(p: argparse.ArgumentParser) -> None:
    """``--quiet`` (errors and the summary only) and ``--progress/--no-progress`` (bars on stderr)."""
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors and the final summary")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show progress bars on stderr")


def add_writing_options(p: argparse.ArgumentParser) -> None:
    """The options every command that writes files shares: overwrite and progress."""
    add_overwrite_option(p)
    add_progress_options(p)


def show_progress(args) -> bool:
    """Whether progress bars are wanted (``--progress`` and not ``--quiet``)."""
    return bool(getattr(args, "progress", True)) and not getattr(args, "quiet", False)


def say(args, message: str) -> None:
    """Print a per-item message on stderr unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        tqdm.write(message, file=sys.stderr)


def add_device_option(p: argparse.ArgumentParser) -> None:
    """``--device``: cuda when available, else cpu."""
    p.add_argument("--device", default=None,
                   help="torch device: cpu, cuda, cuda:1, mps (default: cuda when available, else cpu)")


def resolve_device(name: str | None):
    """The ``torch.device`` for ``--device NAME`` (None: cuda when available, else cpu).

    Raises ConfigError for a name torch does not know or a CUDA device that is not there.
    """
    import torch

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {name!r} is not a torch device (cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def split_list(values: Iterable[str] | str | None) -> list[str]:
    """Items of a space-separated list option (``nargs="+"``); commas inside an item also split,
    so ``--losses l1 mrstft`` and the older ``--losses l1,mrstft`` mean the same."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": "1", "c": "x"}``; raise ConfigError on a bad item."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value")
        out[key.strip()] = value.strip()
    return out


# --------------------------------------------------------------------------- batch jobs over files


@dataclass
class BatchResult:
    """What a batch job did: items done, and items skipped with their reasons."""

    done: list = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def report(self, stream=None) -> None:
        """One summary line; each skip was already said once, when it happened."""
        stream = stream or sys.stderr  # resolved per call: sys.stderr may be replaced after import
        print(f"{len(self.done)} done, {len(self.failed)} skipped", file=stream)


def skip_reason(item, exc: EarshotError) -> str:
    """The error's text without repeating the item's own name (an AudioFileError about the item)."""
    if isinstance(exc, AudioFileError) and Path(exc.path) == Path(str(item)):
        return exc.reason
    return str(exc)


def run_batch(items: list, work: Callable, *, desc: str, progress: bool = True) -> BatchResult:
    """Apply ``work(item)`` to each item; an EarshotError skips that item, said once on stderr.

    Returns a BatchResult whose ``done`` holds each successful item's return value.
    """
    result = BatchResult()
    for item in tqdm(items, desc=desc, unit="file", disable=not progress or len(items) < 2, file=sys.stderr):
        try:
            result.done.append(work(item))
        except EarshotError as exc:
            reason = skip_reason(item, exc)
            result.failed.append((str(item), reason))
            tqdm.write(f"skipped {item}: {reason}", file=sys.stderr)
    return result


def refuse_overwrite_input(inputs: Iterable[Path], output: Path) -> None:
    """Raise ConfigError if ``output`` is one of ``inputs`` (we never write over an input)."""
    output = Path(output).resolve()
    for p in inputs:
        if Path(p).resolve() == output:
            raise ConfigError(f"output {output} is also an input; refusing to write over it")


def check_output(output: Path, inputs: Iterable[Path], *, overwrite: bool) -> None:
    """Raise if ``output`` is an input, or exists and ``overwrite`` is false (naming the output)."""
    refuse_overwrite_input(inputs, output)
    if Path(output).exists() and not overwrite:
        raise AudioFileError(output, "already exists; pass --overwrite to replace it")


def expand_inputs(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """``(file, relative name)`` for each input: a file as itself (relative name: its file name),
    a folder as every audio file under it (relative to the folder). Raises AudioFileError for a
    path that does not exist or a folder without audio files."""
    from earshot.data.datasets import find_audio

    out = []
    for path in map(Path, paths):
        if path.is_dir():
            out += [(f, f.relative_to(path)) for f in audio_in_folder(path, find_audio(path))]
        elif path.exists():
            out.append((path, Path(path.name)))
        else:
            raise AudioFileError(path, "does not exist")
    return out


def audio_in_folder(folder: Path, found: list[Path]) -> list[Path]:
    """``found`` (the audio files under ``folder``), refusing an empty folder: a batch job given a
    folder with nothing to do says so and fails rather than exiting 0 silently."""
    if not found:
        raise AudioFileError(folder, "holds no audio files")
    return found


def distinct_stems(relatives: Iterable[Path]) -> list[Path]:
    """Each relative path without its suffix; repeats get ``-2``, ``-3``... (``a.wav``, ``a.flac``)."""
    seen: dict[Path, int] = {}
    out = []
    for rel in relatives:
        stem = Path(rel).with_suffix("") if Path(rel).stem else Path("audio")
        seen[stem] = seen.get(stem, 0) + 1
        out.append(stem if seen[stem] == 1 else stem.with_name(f"{stem.name}-{seen[stem]}"))
    return out
