"""Dedup stage: in-page repeats, site templates, near-duplicate pages, repeated Q&A."""

from .inpage import drop_repeats
from .pages import Candidate, fold
from .qa import distinct_qa
from .template import TemplateModel, learn

__all__ = ["Candidate", "TemplateModel", "distinct_qa", "drop_repeats", "fold", "learn"]
