"""Configuration: one optional TOML file, every key overridable by `ZENTRA_<SECTION>_<KEY>`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zentra_rules.domain.errors import InputError
from zentra_rules.domain.limits import Limits
from zentra_rules.domain.messages import INTEGRATIONS
from zentra_rules.domain.suggest import did_you_mean

DEFAULT_FILE = "zentra.toml"

# section -> key -> default; the environment variable of a key is ZENTRA_SECTION_KEY.
DEFAULTS: dict[str, dict[str, Any]] = {
    "database": {"url": "sqlite:///zentra.db"},
    "queue": {"url": "sqlite:///zentra-queue.db"},
    "integrations": {f"{name}_url": "" for name in INTEGRATIONS},
    "webhooks": {"allow_private": False, "timeout": 10.0, "max_attempts": 8},
    "server": {"admin_token": ""},
    "runtime": {"lease_seconds": 30.0, "sweep_seconds": 5.0, "workers": 2},
}


@dataclass(frozen=True)
class Config:
    """Every setting the engine reads; secrets (URLs with tokens) are never printed."""

    database_url: str = "sqlite:///zentra.db"
    queue_url: str = "sqlite:///zentra-queue.db"
    integrations: Mapping[str, str] = field(default_factory=dict)   # email|slack|teams -> Apprise URL
    allow_private: bool = False
    webhook_timeout: float = 10.0
    max_attempts: int = 8
    admin_token: str = ""
    lease_seconds: float = 30.0
    sweep_seconds: float = 5.0
    workers: int = 2
    limits: Limits = field(default_factory=Limits)


def _coerce(value: Any, default: Any, name: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise InputError(f"configuration {name}: expected true or false, got {value!r}")
    if isinstance(default, int | float):
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            raise InputError(f"configuration {name}: expected a number, got {value!r}") from None
    if not isinstance(value, str):
        raise InputError(f"configuration {name}: expected a string")
    return value


def _check_keys(doc: dict[str, Any], file: Path) -> None:
    """An unknown section or key is a mistake (a typo would silently keep the default)."""
    for section, table in doc.items():
        if section not in DEFAULTS:
            raise InputError(f"{file}: unknown section [{section}]"
                             + (did_you_mean(section, list(DEFAULTS)) or ""))
        if not isinstance(table, dict):
            raise InputError(f"{file}: [{section}] must be a table")
        for key, value in table.items():
            if section == "integrations":
                known = [k.removesuffix("_url") for k in DEFAULTS[section]]
                if key not in known:
                    raise InputError(f"{file}: unknown integration `{key}`"
                                     + (did_you_mean(key, known) or f"; expected {', '.join(known)}"))
                if not isinstance(value, dict) or set(value) - {"url"}:
                    raise InputError(f"{file}: write [integrations.{key}] url = \"…\"")
            elif key not in DEFAULTS[section]:
                raise InputError(f"{file}: unknown key `{key}` in [{section}]"
                                 + (did_you_mean(key, list(DEFAULTS[section])) or ""))


def load(path: str | os.PathLike[str] | None = None,
         environ: Mapping[str, str] | None = None) -> Config:
    """Read `path` (or ./zentra.toml if present), then apply ZENTRA_* environment overrides."""
    environ = os.environ if environ is None else environ
    doc: dict[str, Any] = {}
    file = Path(path) if path else Path(environ.get("ZENTRA_CONFIG", DEFAULT_FILE))
    if path or file.exists():
        try:
            doc = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{file}: configuration file not found") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{file}: cannot read configuration: {exc}") from None
    _check_keys(doc, file)
    values: dict[str, Any] = {}
    for section, keys in DEFAULTS.items():
        given = doc.get(section, {})
        for key, default in keys.items():
            raw, name = given.get(key, default), f"{section}.{key}"
            if section == "integrations":   # [integrations.email] url = "..."
                sub = key.removesuffix("_url")
                raw, name = given.get(sub, {}).get("url", default), f"integrations.{sub}.url"
            env = f"ZENTRA_{section}_{key}".upper()
            if env in environ:
                raw = environ[env]
            values[f"{section}.{key}"] = _coerce(raw, default, name)
    return Config(
        database_url=values["database.url"], queue_url=values["queue.url"],
        integrations={k: values[f"integrations.{k}_url"] for k in INTEGRATIONS
                      if values[f"integrations.{k}_url"]},
        allow_private=values["webhooks.allow_private"],
        webhook_timeout=values["webhooks.timeout"], max_attempts=values["webhooks.max_attempts"],
        admin_token=values["server.admin_token"],
        lease_seconds=values["runtime.lease_seconds"], sweep_seconds=values["runtime.sweep_seconds"],
        workers=values["runtime.workers"])
