"""`earshot experiment autoencoder`: the codec-loss paper's autoencoder, one model per loss and seed
(`earshot.experiments.autoencoder`).

    earshot experiment autoencoder                      # default budget: 6 losses x 3 seeds x 500 steps
    earshot experiment autoencoder --steps 5000 --seeds 5 --out runs/autoencoder-long
"""

from earshot.cli.options import add_run_command
from earshot.experiments.autoencoder import AutoencoderExperiment


def register(subparsers) -> None:
    from earshot.experiments import autoencoder

    add_run_command(subparsers, "autoencoder", AutoencoderExperiment, "earshot.experiments.autoencoder:run",
                    help="paper's autoencoder trained with L1 / STFT / codec / JND losses, over seeds",
                    description=autoencoder.__doc__)
