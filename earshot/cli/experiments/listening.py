"""`earshot experiment listening`: a MUSHRA (or A/B) listening test from an experiment's output
folder, with the analysis shown on simulated answers (`earshot.experiments.listening`).

    earshot experiment listening --run-dir runs/denoising --out runs/listen-denoising
    earshot listen serve runs/listen-denoising/experiment.yaml --db runs/listen-denoising/answers.db
"""

from earshot.cli.options import add_run_command
from earshot.experiments.listening import ListeningTest


def register(subparsers) -> None:
    from earshot.experiments import listening

    add_run_command(subparsers, "listening", ListeningTest, "earshot.experiments.listening:run",
                    help="prepare a MUSHRA / A/B test from an experiment's outputs (+ simulated analysis)",
                    description=listening.__doc__)
