"""`earshot experiment denoising`: one small denoiser per training loss and seed
(`earshot.experiments.denoising`).

    earshot experiment denoising --steps 300 --seeds 3 --out runs/denoising
"""

from earshot.cli.options import add_run_command
from earshot.experiments.denoising import DenoisingExperiment


def register(subparsers) -> None:
    from earshot.experiments import denoising

    add_run_command(subparsers, "denoising", DenoisingExperiment, "earshot.experiments.denoising:run",
                    help="train a small denoiser with L1 / MR-STFT / JNDLoss over seeds and compare",
                    description=denoising.__doc__)
