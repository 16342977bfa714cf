"""Worker processes that never outlive the crawl, and leave Ctrl-C to it.

The per-page stages run in a process pool started through a fork server. A crawl killed
with kill -9 runs no cleanup, and a worker waiting for work waits forever (it holds both
ends of its job queue), keeping the fork server and the resource tracker alive with it:
so each worker watches the crawling process and exits as soon as it is gone.

Ctrl-C on a terminal reaches every process of the group. Only the crawling process acts
on it (it stops the pool itself); the fork server and the workers ignore it, instead of
each printing a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from multiprocessing import forkserver

WATCH_INTERVAL = 0.5  # seconds between two looks at the parent, without pidfd


def start_fork_server() -> None:
    """Start the fork server (and the resource tracker) with SIGINT ignored: they inherit
    the ignored signal, which Python leaves ignored, so that a Ctrl-C even while the
    server imports its preloaded modules does not reach them."""
    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def init_worker(parent: int) -> None:
    """Pool initializer: ignore Ctrl-C, let SIGTERM kill (the pool terminates workers with
    it), and exit when process `parent` ends, however it ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watch = threading.Thread(target=_exit_with, args=(parent,), name="exit-with-parent")
    watch.daemon = True
    watch.start()


def _exit_with(pid: int) -> None:
    """Block until process `pid` ends, then end this one: a dead parent is owed no cleanup."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux 5.3+: look now and then
        while _alive(pid):
            time.sleep(WATCH_INTERVAL)
        os._exit(1)
    select.select([handle], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
