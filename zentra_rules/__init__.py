"""Zentra rules: the domain shared by the compiler and the runtime (errors, schema, plans, values)."""

__version__ = "0.1.0"
