"""harvester: turn a legacy website into clean, structured JSON records."""

__version__ = "0.1.0"

from .api import aharvest, extract_html, harvest
from .models import QA, Person, QARecord, Record

__all__ = [
    "QA",
    "Person",
    "QARecord",
    "Record",
    "__version__",
    "aharvest",
    "extract_html",
    "harvest",
]
