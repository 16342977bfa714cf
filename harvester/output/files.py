"""Where output goes, and how a file that a user already has is replaced only on success.

A regular file is never written in place: the new content goes to a temporary file beside
it (`.NAME.PID.HEX.tmp`), renamed over it when the run succeeds. A symlink is followed,
as wget does: the temporary file goes beside the link's target, which is replaced, and the
link stays a link. `-`, devices, FIFOs and sockets are written to directly: they cannot
be replaced. A process killed with kill -9 leaves its temporary files behind, named after
it; the next run that writes the same target removes them.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import sys
import time
import weakref
from pathlib import Path
from typing import IO, Protocol

STALE_AFTER = 60.0  # seconds: a temporary file not named after its process is then stale
_TEMP_NAME = re.compile(r"(?:(\d+)\.)?[0-9a-f]{8}\.(?:tmp|partial)")  # after ".NAME."
# Names that stand for this process's own streams, whatever they point at.
_STREAM_NAMES = ("/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/")


class OutputError(OSError):
    """The output cannot be written; the message is one line for the user."""


def cannot_write(target: str, exc: OSError) -> OutputError:
    """One line for a failed write: disk full (ENOSPC), over the file size limit (EFBIG),
    an I/O error (EIO), a closed pipe... all mean the same to the user."""
    if isinstance(exc, OutputError):
        return exc
    error = OutputError(f"cannot write to {target}: {exc.strerror or exc}")
    error.errno = exc.errno  # EPIPE: the reader is gone, which is no error of ours
    return error


# --- low-level writes --------------------------------------------------------------


class WholeFile:
    """A file written in whole pieces (a record, a CSV row group): a piece that cannot be
    written whole, because the disk is full, is cut off again, so that the file never ends
    in half a record and a resumed run can append to it."""

    def __init__(self, path: Path, append: bool = False, exclusive: bool = False) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        flags |= os.O_EXCL if exclusive else 0 if append else os.O_TRUNC
        # 0o666: the umask decides the mode, as for any new file.
        fd = os.open(path, flags, 0o666)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self.size = os.fstat(fd).st_size

    def put(self, data: bytes) -> None:
        """Write all of `data` or, raising OSError, none of it."""
        view = memoryview(data)
        try:
            while view:
                view = view[self._file.write(view) or 0 :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._file.fileno(), self.size)
            raise
        self.size += len(data)

    def sync(self) -> None:
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def put_stdout(text: str) -> None:
    """Write to stdout and flush. When that fails (disk full, closed pipe), stdout is
    pointed at /dev/null, so that the exit does not fail again on what is left in its
    buffer with a traceback-like warning."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        _silence_stdout()
        raise


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


# --- what a target is --------------------------------------------------------------


def is_stream(target: str) -> bool:
    """`-`, a device, a FIFO or a socket (or a name for this process's own stdout):
    written to directly, since it cannot be replaced by a rename."""
    if target == "-" or os.path.abspath(target).startswith(_STREAM_NAMES):
        return True
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def real_file(target: str) -> Path:
    """A file target with its symlinks followed: not a folder, its folder created."""
    path = Path(os.path.realpath(target))
    if path.is_dir() or target.endswith(("/", os.sep)):
        raise OutputError(f"cannot write to {target}: it is a folder")
    make_folder(path.parent, target)
    return path


def make_folder(folder: Path, target: str) -> None:
    """Create `folder` and its parents, or fail in one line naming what is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.is_file()), folder)
        raise OutputError(f"cannot write to {target}: {blocker} is not a folder") from None
    except OSError as exc:
        raise cannot_write(target, exc) from None


# --- temporary names and what dead processes left ----------------------------------


def temp_beside(path: Path, suffix: str = "tmp") -> Path:
    """A fresh hidden name beside `path`, carrying this process's id."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.{suffix}")


def remove_stale_temps(path: Path) -> None:
    """The temporary files and folders beside `path` (`.NAME.PID.HEX.tmp|partial`) of
    processes that are gone, and unnamed ones (`.NAME.HEX.tmp`) older than a minute."""
    prefix = f".{path.name}."
    try:
        entries = [e for e in os.scandir(path.parent or ".") if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name[len(prefix) :])
        if match is None or (match[1] is not None and _alive(int(match[1]))):
            continue
        with contextlib.suppress(OSError):
            if match[1] is not None or time.time() - entry.stat().st_mtime > STALE_AFTER:
                _remove(Path(entry.path))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


# --- destinations ------------------------------------------------------------------


class Destination(Protocol):
    """Where a writer's text goes. `replaces` is true when commit() swaps a file in, so
    that abandon() leaves the previous content as it was."""

    replaces: bool

    def put(self, text: str) -> None: ...

    def commit(self) -> None: ...

    def abandon(self) -> None: ...


class Stdout:
    """`-`: streamed, flushed after every piece."""

    replaces = False

    def put(self, text: str) -> None:
        put_stdout(text)

    def commit(self) -> None:
        """Nothing to put in place: every piece is already out."""

    def abandon(self) -> None:
        """Nothing to undo: what was streamed is out."""


class Direct:
    """A device, FIFO or socket, opened once and written through."""

    replaces = False

    def __init__(self, target: str) -> None:
        self._file: IO[bytes] = open(target, "ab", buffering=0)  # noqa: SIM115

    def put(self, text: str) -> None:
        view = memoryview(text.encode("utf-8"))
        while view:
            view = view[self._file.write(view) or 0 :]

    def commit(self) -> None:
        self._file.close()

    def abandon(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


class Replace:
    """A temporary file beside `path`, renamed over it by commit(); abandon() removes it.

    Readers of `path` only ever see the previous file or a complete new one. A temporary
    file dropped without commit() is removed when collected or at exit.
    """

    replaces = True

    def __init__(self, path: Path) -> None:
        self.path = path
        remove_stale_temps(path)
        self.temp = temp_beside(path)
        self._file = WholeFile(self.temp, exclusive=True)
        self._cleanup = weakref.finalize(self, _discard, self._file, self.temp)

    def put(self, text: str) -> None:
        self._file.put(text.encode("utf-8"))

    def commit(self) -> None:
        self._file.sync()
        self._file.close()
        os.replace(self.temp, self.path)
        self._cleanup.detach()
        sync_folder(self.path.parent)

    def abandon(self) -> None:
        self._cleanup()


def _discard(file: WholeFile, temp: Path) -> None:
    with contextlib.suppress(OSError):
        file.close()
    with contextlib.suppress(OSError):
        temp.unlink(missing_ok=True)


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; where folders cannot be synced, it is skipped."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def open_destination(target: str) -> Destination:
    """The destination for a file target: streamed when it cannot be replaced."""
    if target == "-":
        return Stdout()
    try:
        if is_stream(target):
            return Direct(target)
        return Replace(real_file(target))
    except OSError as exc:
        raise cannot_write(target, exc) from None


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file so that a reader never sees half of it and the previous file
    survives a failed write: a temporary file beside it, fsync, rename."""
    target = str(path)
    destination = open_destination(target)
    try:
        destination.put(text)
        destination.commit()
    except OSError as exc:
        destination.abandon()
        raise cannot_write(target, exc) from None


def check_writable(target: str, *, folder: bool = False) -> None:
    """Fail now, not at the end of a long run, for an output that could not be written
    then: a file's folder is created and must take a new file (a probe, removed); a
    folder (`folder=True`, for Markdown) is created and must be writable."""
    if is_stream(target):
        return
    if folder:
        _check_folder(target)
        return
    path = real_file(target)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write to {target}: permission denied")
    try:
        Replace(path).abandon()
    except OSError as exc:
        raise cannot_write(target, exc) from None


def _check_folder(target: str) -> None:
    path = Path(os.path.realpath(target))
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write to {target}: it is a file, not a folder")
    make_folder(path, target)
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise OutputError(f"cannot write to {target}: permission denied")
