"""`earshot experiment separation`: supervised-only vs semi-supervised adversarial separation
(`earshot.experiments.separation`).

    OMP_NUM_THREADS=1 earshot experiment separation --out runs/separation [--steps 200]

The default budget is about 10 minutes of one CPU thread; ``--steps`` scales it.
"""

from earshot.cli.options import add_run_command
from earshot.experiments.separation import ExperimentConfig


def register(subparsers) -> None:
    from earshot.experiments import separation

    add_run_command(subparsers, "separation", ExperimentConfig, "earshot.experiments.separation:run",
                    help="supervised vs semi-supervised adversarial source separation",
                    description=separation.__doc__, aliases={"wiener_iterations": ["--wiener"]})
