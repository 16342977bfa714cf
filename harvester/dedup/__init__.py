"""Dedup stage: in-page repeats, site templates, near-duplicate pages, repeated Q&A."""

from .inpage import drop_repeats
from .pages import fold_sketches
from .qa import distinct_qa
from .site import DedupOptions, DedupStats, Removal, build_records, page_id
from .template import TemplateLearner, TemplateModel, learn

__all__ = [
    "DedupOptions",
    "DedupStats",
    "Removal",
    "TemplateLearner",
    "TemplateModel",
    "build_records",
    "distinct_qa",
    "drop_repeats",
    "fold_sketches",
    "learn",
    "page_id",
]
