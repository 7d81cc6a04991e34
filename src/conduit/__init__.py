"""Conduit: a self-hostable, DT Cloud-compatible event platform with Data Connectors."""

__version__ = "0.1.0"
