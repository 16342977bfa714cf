"""Q&A on real pages: the shared real-world scorer run against the installed harvester.

Runs ../shared/realworld-dev/score.py (40 pages from 32 sites with hand-checked pairs;
not needed at run time) on the `harvester` command of this environment, prints its
figures and writes the Q&A section of bench/RESULTS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from _results import update_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEV_SET = ROOT.parent / "shared" / "realworld-dev"
HARVESTER = Path(sys.executable).parent / "harvester"
# What the Q&A extraction must reach on the development set.
TARGETS = {"precision": 0.97, "recall": 0.95, "answers_exact": 0.95, "attribution": 0.95}


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def run_scorer() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "score.json"
        command = [sys.executable, str(DEV_SET / "score.py"), str(HARVESTER), "--json", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        print(done.stdout[-3000:], end="")
        if done.returncode != 0 or not out.exists():
            sys.exit(f"the scorer failed ({done.returncode}): {done.stderr[-800:]}")
        result: dict[str, Any] = json.loads(out.read_text("utf-8"))
        return result


def figures(totals: dict[str, int]) -> dict[str, float]:
    return {
        "precision": ratio(totals["tp"], totals["tp"] + totals["fp"]),
        "recall": ratio(totals["tp"], totals["required"]),
        "answers_exact": ratio(totals["exact"], totals["tp"]),
        "attribution": ratio(totals["attr_ok"], totals["attr_total"]),
    }


def by_category(pages: list[dict[str, Any]]) -> list[str]:
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for page in pages:
        row = rows[page["category"]]
        for k, key in enumerate(("required", "tp", "fp", "exact")):
            row[k] += page[key]
    lines = ["| category | required | found | false positives | exact |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {r[0]} | {r[1]} | {r[2]} | {r[3]} |" for name, r in sorted(rows.items())]
    return lines


def main() -> None:
    if not (DEV_SET / "score.py").exists():
        sys.exit(f"bench/qa.py needs the real-world development set at {DEV_SET}")
    if not HARVESTER.exists():
        sys.exit(f"no harvester command beside {sys.executable}: run make install first")
    result = run_scorer()
    totals, pages = result["totals"], result["pages"]
    got = figures(totals)
    without = [p for p in pages if not p["is_faq"]]
    fp_pages = sum(p["fp"] > 0 for p in without)
    met = all(got[k] >= goal for k, goal in TARGETS.items()) and fp_pages == 0
    lines = [
        "## Q&A on real pages",
        "",
        f"`../shared/realworld-dev`: {len(pages)} real pages ({len(pages) - len(without)} with "
        f"Q&A, {len(without)} without), {totals['required']} required pairs, scored by its "
        "`score.py` on the installed `harvester` (each page extracted on its own).",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        *(f"| {k} | {got[k]:.3f} | ≥ {goal} |" for k, goal in TARGETS.items()),
        f"| pages without Q&A given a pair | {fp_pages}/{len(without)} | 0 |",
        f"| answerers invented | {totals['attr_invented']} | 0 |",
        "",
        *by_category(pages),
        "",
        f"Goals {'met' if met else 'NOT met'}. These pages were read while the rules were "
        "built; pages never seen score lower, which is why every rule is one of structure "
        "(runs, shapes, speakers) with its own fixture, not of these sites.",
    ]
    update_section("qa", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
