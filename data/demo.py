"""`make demo`: serve the bundled sample site on 127.0.0.1 and crawl it.

Uses only the standard library server, on a free port, stopped when the crawl ends.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "sample-site"
OUT = HERE / "out" / "records.jsonl"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    handler = partial(QuietHandler, directory=str(SITE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"serving {SITE.relative_to(HERE.parent)} at {url}", file=sys.stderr)
    try:
        command = [
            sys.executable,
            "-m",
            "harvester",
            "crawl",
            url,
            "-o",
            str(OUT),
            "--delay",
            "0.05",
            "--state",
            str(HERE / "state" / "demo.sqlite"),
            "--fresh",
        ]
        print("$ harvester " + " ".join(command[3:]), file=sys.stderr)
        code = subprocess.call(command)
    finally:
        server.shutdown()
        server.server_close()
    if code == 0:
        show(OUT)
    return code


def show(path: Path) -> None:
    print(f"\nrecords in {path.relative_to(HERE.parent)}:")
    for line in path.read_text("utf-8").splitlines():
        record = json.loads(line)
        extra = f", {len(record['qa'])} Q&A" if record["qa"] else ""
        print(f"  {record['kind']:<8} {record['title'] or '(untitled)'}{extra}")
        for qa in record["qa"][:1]:
            who = qa["answered_by"]
            if who:
                print(f"           answered by {who['name']}, {who['credentials']}, {who['title']}")


if __name__ == "__main__":
    sys.exit(main())
