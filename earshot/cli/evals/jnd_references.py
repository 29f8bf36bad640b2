"""`earshot eval jnd-references`: Spearman correlation of the JND distance (and CDPAM, MR-STFT, mel, L1)
with PESQ and ViSQOL over graded real degradations of real recordings (`earshot.evals.jnd_references`)."""

from earshot.cli.options import add_run_command
from earshot.evals.jnd_references import ReferenceEval


def register(subparsers) -> None:
    from earshot.evals import jnd_references

    add_run_command(subparsers, "jnd-references", ReferenceEval, "earshot.evals.jnd_references:run",
                    help="JND metric vs PESQ / ViSQOL on graded real degradations of real recordings",
                    description=jnd_references.__doc__)
