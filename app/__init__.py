"""Praxis: a consent-first recorder of computer-use demonstrations."""

__version__ = "0.1.0"
