"""The console entry point, light on purpose: a Ctrl-C while the program is still
loading its modules is an interruption like any other (one line, exit 130)."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import run
    except KeyboardInterrupt:
        sys.stderr.write("harvester: error: interrupted\n")
        raise SystemExit(130) from None
    run()
