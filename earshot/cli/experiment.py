"""`earshot experiment NAME`: the papers' experiments (autoencoder, denoising, separation, ...)."""

from earshot.cli._groups import register_group


def register(subparsers) -> None:
    register_group(subparsers, "experiment", "earshot.cli.experiments", "run one of the papers' experiments")
