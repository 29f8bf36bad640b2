"""``python -m earshot ...`` runs the ``earshot`` command line (same as the ``earshot`` script)."""

import sys

from earshot.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
