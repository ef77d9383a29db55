"""``python -m pamtui.cli.hub --db DB [--config CFG]``: the serve-ssh service's hub child.

Started and ended by ``pamtui serve-ssh`` (ssh/server.py); see services/hub.py.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pamtui.errors import PamtuiError
from pamtui.services.hub import main as hub_main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pamtui-hub")
    parser.add_argument("--db", required=True)
    parser.add_argument("--config")
    parser.add_argument(
        "--inventory-once", action="store_true", help="sync and publish the shared inventory once"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM: flush, then end
    try:
        return hub_main(Path(args.db), args.config, inventory_once=args.inventory_once)
    except PamtuiError as exc:  # a config the service started with no longer loads
        print(f"pamtui hub: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
