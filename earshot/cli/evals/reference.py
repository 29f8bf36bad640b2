"""`earshot eval reference`: the shipped reference models vs their peers on held-out real recordings
(`earshot.evals.reference_models`).

    earshot eval reference [--weights DIR] [--items 6] [--parts codec emulator separator jnd] [--out DIR]
"""

from earshot.cli.options import add_run_command
from earshot.evals.reference_models import ReferenceEval


def register(subparsers) -> None:
    from earshot.evals import reference_models

    add_run_command(subparsers, "reference", ReferenceEval, "earshot.evals.reference_models:run",
                    help="reference models vs Opus/MP3/Open-Unmix (codec, emulators, separator, JND)",
                    description=reference_models.__doc__)
