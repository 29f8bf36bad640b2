"""`earshot eval references`: Spearman correlation of the JND distance (and CDPAM, MR-STFT, mel, L1)
with PESQ and ViSQOL over graded real degradations of real recordings (`earshot.evals.references`)."""

from earshot.cli.options import add_run_command
from earshot.evals.references import ReferenceEval


def register(subparsers) -> None:
    from earshot.evals import references

    add_run_command(subparsers, "references", ReferenceEval, "earshot.evals.references:run",
                    help="JND metric vs PESQ / ViSQOL on graded real degradations of real recordings",
                    description=references.__doc__)
