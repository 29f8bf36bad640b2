"""`earshot eval NAME`: evaluate a shipped or trained model (emulator, jnd, codec, style, ...)."""

from earshot.cli._groups import register_group


def register(subparsers) -> None:
    register_group(subparsers, "eval", "earshot.cli.evals", "evaluate a model against baselines")
