"""`earshot eval jnd`: the learned JND metric against L1, MR-STFT, mel distance, the codec loss and
CDPAM (`earshot.evals.jnd`).

    earshot eval jnd --out runs/eval-jnd            # add --no-cdpam to skip the slow peer
"""

from earshot.cli.options import add_run_command
from earshot.evals.jnd import JNDEval


def register(subparsers) -> None:
    from earshot.evals import jnd

    add_run_command(subparsers, "jnd", JNDEval, "earshot.evals.jnd:run",
                    help="evaluate the learned JND metric against baselines and CDPAM", description=jnd.__doc__)
