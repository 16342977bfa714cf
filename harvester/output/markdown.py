"""A Markdown folder for Hugo: one `.md` file per record, replaced file by file on commit.

Files are written to a staging folder beside the target (`.DIR.PID.HEX.partial/`) and
only moved into the folder by commit(), each by a rename; abandon() (or kill -9) leaves
the folder as it was. The manifest `.harvester-files.json` in the folder records what
harvester wrote there (record id -> file, and its aliases), so that:

- a name once given to a record stays with it on every later run, whether or not the
  record is written again (an unchanged `/guide` keeps `guide.md`; a changed
  `/guide.html` never takes it);
- only files harvester wrote are ever removed or replaced: a name taken by another
  file in the folder is avoided;
- the site root becomes `_index.md` and a page with pages below it `NAME/_index.md`
  (a Hugo section), decided at commit from every record, this run's and earlier ones'.

Nothing is written or removed outside the folder, not even through a symlink in it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import QARecord, Record
from .files import (
    OutputError,
    cannot_write,
    make_folder,
    remove_stale_temps,
    sync_folder,
    temp_beside,
    write_atomic,
)
from .render import (
    alias_paths,
    body_of,
    document,
    hugo_target,
    natural_stem,
    page_front,
    page_url,
    qa_record_front,
)
from .slugs import stem_of

MANIFEST = ".harvester-files.json"


@dataclass
class Entry:
    """One record's file: its page name (`stem`), the file, the aliases it lists."""

    stem: str
    path: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class Pending:
    """A record written this run, waiting in the staging folder for commit()."""

    entry: Entry
    front: dict[str, Any]
    body: Path
    page: bool  # a page record (it has aliases), not a Q&A record


class MarkdownOutput:
    """`-o DIR` with `--format markdown`. See the module docstring for the lifecycle."""

    def __init__(self, target: str) -> None:
        if target == "-":
            raise OutputError("cannot write Markdown to stdout: give a folder with -o")
        self.target = target
        self.count = 0
        self.already: set[str] = set()
        self.slugs: dict[str, str] = {}
        self._root = Path(os.path.realpath(target))
        if self._root.exists() and not self._root.is_dir():
            raise OutputError(f"cannot write to {target}: it is a file, not a folder")
        make_folder(self._root.parent, target)
        remove_stale_temps(self._root)
        self._staging = temp_beside(self._root, "partial")
        try:
            self._staging.mkdir()
        except OSError as exc:
            raise cannot_write(target, exc) from None
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._staging, True)
        self._old, self._owned = read_manifest(self._root)
        self._pending: dict[str, Pending] = {}
        self._taken = {e.stem.casefold(): rid for rid, e in self._old.items()}
        self._claimed = {hugo_target(a) for e in self._old.values() for a in e.aliases}
        self._done = False

    # --- writing ---------------------------------------------------------------------

    def write(self, record: Record | QARecord) -> None:
        stem = self._stem_for(record)
        url = page_url(stem + ".md")
        self._check_inside(stem)
        pending = self._pending.get(record.id)
        body = pending.body if pending else self._staging / f"{len(self._pending)}.body"
        try:
            body.write_text(body_of(record), encoding="utf-8", newline="\n")
        except OSError as exc:
            raise cannot_write(self.target, exc) from None
        if isinstance(record, QARecord):
            entry, front = Entry(stem), qa_record_front(record, url)
        else:
            entry = Entry(stem, aliases=alias_paths(record, url))
            front = page_front(record, url, [])
        self._pending[record.id] = Pending(entry, front, body, isinstance(record, Record))
        old = self._old.get(record.id)
        self.slugs[record.id] = old.path if old is not None else stem + ".md"
        self.count += 1

    def _stem_for(self, record: Record | QARecord) -> str:
        """The record's name from an earlier run or this one, else a free one."""
        if record.id in self._pending:
            return self._pending[record.id].entry.stem
        if record.id in self._old:
            return self._old[record.id].stem
        base = natural_stem(record)
        stem, number = base, 1
        while self._is_taken(stem):
            number += 1
            stem = f"{base or 'index'}-{number}"
        self._taken[stem.casefold()] = record.id
        return stem

    def _is_taken(self, stem: str) -> bool:
        """By another record, by an earlier record's alias, or by a file not ours."""
        if stem.casefold() in self._taken or hugo_target(page_url(stem + ".md")) in (self._claimed):
            return True
        files = ("_index.md",) if not stem else (f"{stem}.md", f"{stem}/_index.md")
        return any(f not in self._owned and (self._root / f).exists() for f in files)

    def _check_inside(self, stem: str) -> None:
        for relative in (f"{stem}.md", f"{stem}/_index.md") if stem else ("_index.md",):
            self._inside(self._root / relative, relative)

    def _inside(self, path: Path, relative: str) -> None:
        """A symlink already in the folder must not carry a file out of it."""
        if not path.resolve().is_relative_to(self._root):
            raise OutputError(f"cannot write {relative}: it leads outside {self.target}")

    # --- committing ------------------------------------------------------------------

    def commit(self, complete: bool = True, current: set[str] | None = None) -> None:
        """Put every file written in place, then remove the files of ours that nothing
        uses any more: a record's earlier file when its file changed and, when the run is
        `complete`, the files of records that are no longer part of the set.

        `complete` says that this run wrote every record of the site (not only what
        changed, and no page failed), so a record it did not write is gone; `current`
        names the set instead (every record id of the run, written or unchanged). A run
        that is not complete removes no record's file.
        """
        if self._done:
            return
        self._done = True
        try:
            self._commit(complete, current)
        except OSError as exc:
            raise cannot_write(self.target, exc) from None
        finally:
            self._cleanup()

    def abandon(self) -> None:
        """The folder stays exactly as it was; the staged files go."""
        self._done = True
        self._cleanup()

    def _commit(self, complete: bool, current: set[str] | None) -> None:
        final = self._plan(complete, current)
        make_folder(self._root, self.target)
        # The manifest first names every file, old and new: one cut short by kill -9
        # still knows every file it may have put in the folder.
        self._save(final, self._owned | {e.path for e in final.values()})
        for record_id, entry in final.items():
            self._place(record_id, entry)
        stale = self._owned - {e.path for e in final.values()}
        for relative in sorted(stale):
            self._remove(relative)
        self._save(final, {e.path for e in final.values()})
        self.slugs = {record_id: entry.path for record_id, entry in final.items()}

    def _plan(self, complete: bool, current: set[str] | None) -> dict[str, Entry]:
        """Every record's file: pages with pages below them are sections, and aliases
        never take a page's address or another alias."""
        final = {rid: p.entry for rid, p in self._pending.items()}
        for rid, entry in self._old.items():
            gone = complete and rid not in (self._pending if current is None else current)
            if rid not in final and not gone:
                final[rid] = Entry(entry.stem, entry.path, list(entry.aliases))
        parents = {folder for e in final.values() for folder in _folders(e.stem)}
        for entry in final.values():
            entry.path = self._file_of(entry.stem, parents)
        taken = {hugo_target(page_url(e.path)) for e in final.values()}
        for rid, entry in final.items():
            if rid not in self._pending:
                taken |= {hugo_target(a) for a in entry.aliases}
        for entry in (p.entry for p in self._pending.values()):
            entry.aliases = [a for a in entry.aliases if hugo_target(a) not in taken]
            taken |= {hugo_target(a) for a in entry.aliases}
        return final

    def _file_of(self, stem: str, parents: set[str]) -> str:
        if not stem:
            return "_index.md"
        if stem in parents or (self._root / stem).is_dir():
            return f"{stem}/_index.md"
        return f"{stem}.md"

    def _place(self, record_id: str, entry: Entry) -> None:
        """A written record's file moves in from staging; an earlier record whose file
        became a section (or stopped being one) is moved within the folder."""
        path = self._root / entry.path
        self._inside(path, entry.path)
        pending = self._pending.get(record_id)
        if pending is None:
            old = self._old[record_id].path
            if old != entry.path and (self._root / old).is_file():
                self._inside(self._root / old, old)
                self._mkdir(path.parent, entry.path)
                os.replace(self._root / old, path)
                self._owned.add(entry.path)
            return
        front = dict(pending.front)
        if pending.page:
            front["aliases"] = entry.aliases
        staged = pending.body.with_suffix(".md")
        staged.write_text(
            document(front, pending.body.read_text("utf-8")), encoding="utf-8", newline="\n"
        )
        self._mkdir(path.parent, entry.path)
        _move(staged, path)

    def _mkdir(self, folder: Path, relative: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._inside(folder, relative)

    def _remove(self, relative: str) -> None:
        """One of our files nothing uses any more, and the folders it leaves empty."""
        path = self._root / relative
        with contextlib.suppress(OSError):
            self._inside(path.parent, relative)
            path.unlink(missing_ok=True)
            for folder in path.parents:
                if folder == self._root or not folder.is_relative_to(self._root):
                    break
                folder.rmdir()

    def _save(self, final: dict[str, Entry], files: set[str]) -> None:
        data = {
            "version": 1,
            "records": {
                rid: {"path": e.path, "aliases": e.aliases} for rid, e in sorted(final.items())
            },
            "files": sorted(files),
        }
        write_atomic(self._root / MANIFEST, json.dumps(data, ensure_ascii=False, indent=1))


def read_manifest(root: Path) -> tuple[dict[str, Entry], set[str]]:
    """What earlier runs wrote in the folder: record id -> Entry, and every file of
    ours. An unreadable manifest owns nothing, so nothing is removed or replaced."""
    try:
        data = json.loads((root / MANIFEST).read_text("utf-8"))
        records = {
            str(rid): Entry(stem_of(str(e["path"])), str(e["path"]), list(e["aliases"]))
            for rid, e in data["records"].items()
        }
        files = {str(f) for f in data["files"]} | {e.path for e in records.values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, set()
    return records, files


def _folders(stem: str) -> list[str]:
    """`a/b/c` -> `a`, `a/b`: the pages that `a/b/c` is below."""
    parts = stem.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _move(source: Path, target: Path) -> None:
    """A rename; across file systems, a copy beside the target renamed over it."""
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        temp = temp_beside(target)
        shutil.copyfile(source, temp)
        os.replace(temp, target)
        source.unlink()
    sync_folder(target.parent)
