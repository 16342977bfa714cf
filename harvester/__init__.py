"""harvester: turn a legacy website into clean, structured JSON records.

The library's names load on first use: the command line starts (and answers Ctrl-C)
before the heavy modules are imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import aharvest, extract_html, harvest
    from .models import QA, Person, QARecord, Record
    from .pipeline import RunError
    from .report import Summary
    from .settings import SettingError

_HOMES = {
    "aharvest": "api",
    "extract_html": "api",
    "harvest": "api",
    "QA": "models",
    "Person": "models",
    "QARecord": "models",
    "Record": "models",
    "Summary": "report",
    "RunError": "pipeline",
    "SettingError": "settings",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'harvester' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)


__all__ = [
    "QA",
    "Person",
    "QARecord",
    "Record",
    "RunError",
    "SettingError",
    "Summary",
    "__version__",
    "aharvest",
    "extract_html",
    "harvest",
]
