"""Q&A across a crawl: each distinct question and answer once, with every page it is on."""

from __future__ import annotations

import hashlib

from ..models import QA, QARecord, Record
from .sketch import fingerprint


def qa_id(qa: QA) -> str:
    key = fingerprint(qa.question) + "\x00" + fingerprint(qa.answer)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def distinct_qa(records: list[Record]) -> list[QARecord]:
    found: dict[str, QARecord] = {}
    for record in records:
        for qa in record.qa:
            key = qa_id(qa)
            existing = found.get(key)
            if existing is None:
                found[key] = QARecord(
                    id=key,
                    question=qa.question,
                    answer=qa.answer,
                    answered_by=qa.answered_by,
                    urls=[record.url],
                    site=record.site,
                )
            elif record.url not in existing.urls:
                existing.urls.append(record.url)
                existing.answered_by = existing.answered_by or qa.answered_by
    return list(found.values())
