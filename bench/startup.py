"""How fast the command line answers before doing any work: `harvester --version` and
`harvester --help`, against the bare interpreter (`python -c pass`) and a click program
measured in the same run, so that a loaded machine shows in all of them.

Goal: `harvester --version` under 0.3 s. Writes the "startup" section of bench/RESULTS.md.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _results import update_section

RUNS = 15
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import click'": [sys.executable, "-c", "import click"],
    "harvester --version": [sys.executable, "-m", "harvester", "--version"],
    "harvester --help": [sys.executable, "-m", "harvester", "--help"],
    "harvester crawl --help": [sys.executable, "-m", "harvester", "crawl", "--help"],
}


def median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    figures = {name: median_seconds(command) for name, command in COMMANDS.items()}
    bare = figures["python -c pass"]
    rows = ["| command | median s | x bare interpreter |", "|---|---|---|"]
    for name, seconds in figures.items():
        rows.append(f"| `{name}` | {seconds:.3f} | {seconds / bare:.1f} |")
    verdict = "met" if figures["harvester --version"] < 0.3 else "NOT met"
    text = "\n".join(rows) + f"\n\nGoal `harvester --version` < 0.3 s: {verdict}.\n"
    print(text)
    header = f"## Startup\n\nMedian of {RUNS} runs each, same machine, same run.\n\n"
    update_section("startup", header + text)


if __name__ == "__main__":
    main()
