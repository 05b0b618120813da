"""The web playground's static files (HTML, JS, CSS and sample subjects), served by the HTTP app."""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
SAMPLES = STATIC / "samples.json"
