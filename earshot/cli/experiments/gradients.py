"""`earshot experiment gradients`: what each loss's gradient does on real artefacts and graded
degradations: scale, direction, frequency, JNDLoss layers and head (`earshot.experiments.gradients`).

    earshot experiment gradients --run-dirs runs/denoising runs/autoencoder --out runs/gradients
"""

from earshot.cli.options import add_run_command
from earshot.experiments.gradients import GradientAnalysis


def register(subparsers) -> None:
    from earshot.experiments import gradients

    add_run_command(subparsers, "gradients", GradientAnalysis, "earshot.experiments.gradients:run",
                    help="loss gradients vs MR-STFT: scale, direction, frequency, JND layers",
                    description=gradients.__doc__)
