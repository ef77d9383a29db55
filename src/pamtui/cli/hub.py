"""``python -m pamtui.cli.hub --db DB [--config CFG]``: the serve-ssh service's hub child.

Started and ended by ``pamtui serve-ssh`` (ssh/server.py); see services/hub.py.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pamtui.services.hub import main as hub_main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pamtui-hub")
    parser.add_argument("--db", required=True)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM: flush, then end
    return hub_main(Path(args.db), args.config)


if __name__ == "__main__":
    sys.exit(main())
