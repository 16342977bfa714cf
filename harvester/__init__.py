"""harvester: turn a legacy website into clean, structured JSON records."""

__version__ = "0.1.0"
