"""Zentra rules: what the compiler and the runtime share (`domain`), the store, the integrations
and the interfaces (CLI, HTTP API, playground). The pipeline itself is `compiler` → `runtime`."""

__version__ = "0.1.0"
