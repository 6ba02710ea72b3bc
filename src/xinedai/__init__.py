"""xinedai: digital credit platform for rural commercial banks (信e贷)."""

__version__ = "0.1.0"
