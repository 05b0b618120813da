"""The HTTP API: plumbing, handlers and the OpenAPI document (wired in server.py)."""
