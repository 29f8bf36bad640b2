"""The command line's shared habits: help and defaults on every option, examples laid out as
examples, the same writing options everywhere, --device, one-line errors for missing extras,
skip messages said once, ``python -m earshot``, and configs found by name."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from earshot.cli.common import (BatchResult, check_output, distinct_stems, resolve_device, run_batch, skip_reason,
                                split_list)
from earshot.cli.main import build_parser, main, missing_extra_message
from earshot.errors import AudioFileError, ConfigError
from earshot.train.config import default_configs_dir, find_config, shipped_configs

ROOT = Path(__file__).resolve().parents[2]
PARSER = build_parser()
OWN = ["codec", "separate", "style", "explain", "perturb", "pairs", "listen", "weights", "demo"]
WRITING = [("codec", "encode"), ("codec", "decode"), ("separate",), ("style",), ("explain",), ("perturb",),
           ("pairs", "make")]
WITH_DEVICE = [["codec", "encode", "a.wav"], ["codec", "decode", "a.esc"], ["separate", "a.wav"],
               ["style", "a.wav", "b.wav", "c.wav"], ["explain", "a.wav", "b.wav"]]


def subparser(parser: argparse.ArgumentParser, *names: str) -> argparse.ArgumentParser:
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) of ``parser`` and every sub-command below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, path + (name,))


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    return [a for a in parser._actions if not isinstance(a, skip)]


def option_strings(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


COMMANDS = sorted(next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices)


def test_every_command_module_registered():
    assert {"score", "train", "codec", "separate", "style", "explain", "perturb", "pairs", "listen",
            "weights", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help(command):
    missing = [" ".join(("earshot", *path, a.option_strings[0] if a.option_strings else a.dest))
               for path, parser in walk(subparser(PARSER, command), (command,))
               for a in options(parser) if not a.help or a.help == argparse.SUPPRESS]
    assert missing == [], f"options without help text: {missing}"


def test_defaults_are_shown_once_and_examples_keep_their_layout():
    text = subparser(PARSER, "codec", "encode").format_help()
    assert "bitrate in kbit/s (default: 6.0)" in text
    assert "(default: codec-16k)" in text and "default: 30.0" in text
    assert "\nexamples:\n  earshot codec encode speech.wav" in text       # one example per line, indented
    assert "to the mixture) (default: 0)" in " ".join(subparser(PARSER, "separate").format_help().split())  # 0 is shown
    explain = subparser(PARSER, "explain").format_help()
    assert "(default: l1 mrstft mel)" in explain and explain.count("default:") == explain.count("(default")
    for command in OWN:
        for path, parser in walk(subparser(PARSER, command), (command,)):
            for action in options(parser):
                assert action.help.lower().count("default") <= 1, (path, action.help)
            assert "(default: None)" not in parser.format_help()


@pytest.mark.parametrize("path", WRITING, ids=" ".join)
def test_writing_commands_share_overwrite_and_progress_options(path):
    assert {"--overwrite", "--quiet", "-q", "--progress", "--no-progress"} <= option_strings(subparser(PARSER, *path))


@pytest.mark.parametrize("argv", WITH_DEVICE, ids=lambda argv: argv[0])
def test_device_option(argv):
    assert PARSER.parse_args(argv).device is None          # resolved later: cuda when available, else cpu
    assert PARSER.parse_args(argv + ["--device", "cpu"]).device == "cpu"


def test_lists_are_space_separated():
    args = PARSER.parse_args(["explain", "a.wav", "b.wav", "--losses", "l1", "mrstft"])
    assert split_list(args.losses) == ["l1", "mrstft"]
    args = PARSER.parse_args(["pairs", "make", "out", "--source", "s", "--codecs", "mp3", "opus"])
    assert args.codecs == ["mp3", "opus"]
    assert split_list(["l1,mrstft", "mel"]) == ["l1", "mrstft", "mel"]   # the older comma form still works


def test_resolve_device():
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="not a torch device"):
        resolve_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")


def test_skip_is_said_once_and_names_the_file(tmp_path, capsys):
    def work(path):
        if path.name == "bad.wav":
            raise AudioFileError(path, "not a readable audio file")
        if path.name == "taken.wav":
            check_output(tmp_path / "out" / "taken.wav", [path], overwrite=False)
        return path

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "taken.wav").write_bytes(b"x")
    items = [tmp_path / "good.wav", tmp_path / "bad.wav", tmp_path / "taken.wav"]
    result = run_batch(items, work, desc="test", progress=False)
    result.report()
    err = capsys.readouterr().err
    assert err.count("bad.wav") == 1 and f"skipped {items[1]}: not a readable audio file" in err
    assert f"skipped {items[2]}: {tmp_path / 'out' / 'taken.wav'}: already exists" in err
    assert sum(line.startswith("skipped") for line in err.splitlines()) == 2 and err.strip().endswith("1 done, 2 skipped") and result.exit_code == 1
    assert BatchResult(done=[1]).exit_code == 0
    assert skip_reason("a.wav", ConfigError("x")) == "x"


def test_distinct_stems():
    assert distinct_stems([Path("x.wav"), Path("x.flac"), Path("sub/x.wav"), Path("y.wav")]) == [
        Path("x"), Path("x-2"), Path("sub/x"), Path("y")]


def test_missing_extra_is_one_line():
    exc = ModuleNotFoundError("No module named 'lightning_fabric'", name="lightning_fabric")
    assert missing_extra_message(exc) == ("this command needs the optional package 'lightning_fabric': "
                                          "pip install 'earshot[train]'")
    assert missing_extra_message(ModuleNotFoundError("x", name="pesq.cypesq")).endswith("'earshot[metrics]'")
    assert missing_extra_message(ModuleNotFoundError("x", name="numpy")) is None


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_train_without_lightning_fabric_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['lightning_fabric'] = None\n"
            "from earshot.cli.main import main\n"
            f"sys.exit(main(['train', 'toy', 'train.steps=1', '--run-dir', {str(tmp_path / 'run')!r}]))")
    proc = run_python(code, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == ("earshot: error: this command needs the optional package "
                                                    "'lightning_fabric': pip install 'earshot[train]'")
    assert "Traceback" not in proc.stderr


def test_python_dash_m_earshot(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "earshot", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0 and proc.stdout.startswith("usage: earshot ")
    assert "codec" in proc.stdout and "examples:" in proc.stdout


def test_configs_are_found_by_name_and_path(tmp_path, monkeypatch):
    shipped = default_configs_dir()
    assert (shipped / "codec-16k.yaml").is_file()
    assert find_config("codec-16k") == shipped / "codec-16k.yaml"
    assert find_config("codec-16k.yaml") == shipped / "codec-16k.yaml"
    assert find_config("listening/mushra-codecs") == shipped / "listening" / "mushra-codecs.yaml"
    monkeypatch.chdir(tmp_path)                  # configs/... from outside the checkout: found by name
    assert find_config("configs/codec-16k.yaml") == shipped / "codec-16k.yaml"
    own = tmp_path / "codec-16k.yaml"
    own.write_text("train: {steps: 3}\n")
    assert find_config("codec-16k.yaml") == Path("codec-16k.yaml")      # an existing file wins
    with pytest.raises(ConfigError, match="codec-16k, codec, |codec, codec-16k"):
        find_config("no-such-config")
    assert "base" in shipped_configs() and "listening/ab-speech" in shipped_configs()
    monkeypatch.setenv("EARSHOT_CONFIGS", str(tmp_path))
    assert default_configs_dir() == tmp_path and shipped_configs() == ["codec-16k"]


def test_print_config_by_name_equals_by_path(capsys):
    assert main(["train", "codec", "--config", "codec-16k", "--print-config"]) == 0
    by_name = capsys.readouterr().out
    assert main(["train", "codec", "--config", str(ROOT / "configs" / "codec-16k.yaml"), "--print-config"]) == 0
    assert capsys.readouterr().out == by_name and "steps:" in by_name


def test_package_configs_are_the_repository_configs():
    repo = sorted(p.relative_to(ROOT / "configs") for p in (ROOT / "configs").rglob("*.yaml"))
    assert repo and sorted(p.relative_to(default_configs_dir()) for p in default_configs_dir().rglob("*.yaml")) == repo


def test_export_defaults_to_the_run_folder(tmp_path, capsys):
    import earshot

    run_dir = tmp_path / "run"
    assert main(["train", "toy", "train.steps=2", "train.val_every=0", "train.tensorboard=false",
                 "train.progress=false", "--run-dir", str(run_dir)]) == 0
    assert main(["export", str(run_dir), "--name", "toy-export-default"]) == 0
    assert (run_dir / "export" / "toy-export-default.json").is_file()
    assert not (Path(earshot.__file__).parent / "weights" / "toy-export-default.json").exists()


def test_listening_examples_are_found_by_name(tmp_path, monkeypatch):
    from earshot.cli.listen import experiment_file

    shipped = default_configs_dir() / "listening" / "mushra-codecs.yaml"
    monkeypatch.chdir(tmp_path)
    for name in ("mushra-codecs", "mushra-codecs.yaml", "listening/mushra-codecs", "configs/listening/mushra-codecs.yaml"):
        assert experiment_file(Path(name)) == shipped, name
    with pytest.raises(ConfigError, match="ab-speech"):
        experiment_file(Path("no-such-test"))


@pytest.mark.parametrize("command", [["codec", "encode"], ["separate"]])
def test_an_empty_folder_is_an_error_not_a_silent_success(tmp_path, command, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*command, str(empty), "--out", str(tmp_path / "out")]) != 0
    assert "holds no audio files" in capsys.readouterr().err
