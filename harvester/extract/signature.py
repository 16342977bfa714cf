"""Split the practitioner's signature off the end of an answer.

"Jonathan Sun BPE, CAT(C)" / "Certified Athletic Therapist", "— Dr. Jane Roe, DC",
"Answered by Sam Lee, RMT": a name, optional credentials, optional job title.
"""

from __future__ import annotations

import re

from ..models import Person

_LEAD = re.compile(r"^(?:[-–—~]+\s*|answered\s+by[:\s]+|by[:\s]+)", re.I)
_HONORIFIC = r"(?:Dr|Mr|Mrs|Ms|Mx|Prof)\.?"
_NAME_WORD = r"[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)?"
_NAME = re.compile(rf"^((?:{_HONORIFIC}\s+)?{_NAME_WORD}(?:\s+(?:[A-Z]\.\s+)?{_NAME_WORD}){{1,3}})")
# BPE, CAT(C), RMT, DC, PhD, MScPT, R.Kin, M.Sc., B.Sc.(Hons)
_CREDENTIAL = re.compile(
    r"^(?=(?:.*[A-Z]){2}|PhD|DC|MD|ND|OT|PT)[A-Z][A-Za-z.]*(?:\([A-Za-z]+\))?\.?$"
)
_TITLE_WORD = re.compile(r"^(?:[A-Z][\w’'&/-]*|of|and|in|for|the|&|-)$")
# Without credentials, a name and a title look like two company names ("Sun Life,
# Manulife"); a job title names a person's work: Therapist, Chiropractor, Physician...
_JOB = re.compile(r"(?:ist|ian|or|er|ath|coach|nurse|lead|head)s?\b", re.I)
MAX_SIGNATURE_CHARS = 90


def _credentials(rest: str) -> str | None:
    """ "BPE, CAT(C)" -> itself; None if any piece is not credential-shaped."""
    pieces = [p for p in re.split(r"[,\s]+", rest.strip(" ,")) if p]
    if pieces and all(_CREDENTIAL.match(p) for p in pieces):
        return re.sub(r"\s*,\s*", ", ", rest.strip(" ,"))
    return None


def _is_title(line: str) -> bool:
    words = line.rstrip(".").split()
    return (
        0 < len(words) <= 6
        and len(line) <= 60
        and words[0][0].isupper()
        and all(_TITLE_WORD.match(w) for w in words)
    )


def _is_job(line: str) -> bool:
    return _is_title(line) and bool(_JOB.search(line))


def parse_name_line(line: str) -> Person | None:
    """A signature line: name, then credentials and/or a title after a comma."""
    line = _LEAD.sub("", line.strip()).strip()
    if not line or len(line) > MAX_SIGNATURE_CHARS or line.endswith(("?", ":")):
        return None
    match = _NAME.match(line)
    if not match:
        return None
    name, rest = match.group(1), line[match.end() :].strip()
    if not rest:
        return Person(name=name)
    rest = rest.lstrip(",").strip()
    creds = _credentials(rest)
    if creds:
        return Person(name=name, credentials=creds)
    # "BPE, CAT(C), Certified Athletic Therapist": the credentials end at some comma.
    for comma in (m.start() for m in re.finditer(",", rest)):
        creds, title = _credentials(rest[:comma]), rest[comma + 1 :].strip()
        if creds and _is_title(title):
            return Person(name=name, credentials=creds, title=title)
    if _is_job(rest) and line[match.end() :].lstrip().startswith(","):
        return Person(name=name, title=rest)
    return None


def split_signature(lines: list[str], max_lines: int = 2) -> tuple[list[str], Person | None]:
    """(answer lines without the signature, who signed), looking at the last `max_lines`
    (at most two) lines: a caller knows when the last lines are list items, not a name."""
    if max_lines >= 2 and len(lines) >= 3 and _is_title(lines[-1]):
        person = parse_name_line(lines[-2])
        if person and person.title is None and (person.credentials or _is_job(lines[-1])):
            return lines[:-2], Person(person.name, person.credentials, lines[-1].rstrip("."))
    if max_lines >= 1 and len(lines) >= 2:
        person = parse_name_line(lines[-1])
        if person and (person.credentials or person.title or _LEAD.match(lines[-1].strip())):
            return lines[:-1], person
    return lines, None
