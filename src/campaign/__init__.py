"""Check, preview and export cited, quoted advocacy letters."""

__version__ = "0.1.0"
