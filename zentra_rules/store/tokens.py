"""API tokens (only their hashes) and their roles."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import InputError, NotFoundError
from zentra_rules.domain.values import iso
from zentra_rules.store.models import (
    ApiToken,
)

Record = dict[str, Any]
ROLES = ("admin", "editor", "agent", "viewer")


class Tokens:
    """API tokens (only their hashes) and their roles."""

    def __init__(self, db: pw.Database):
        self.db = db

    def create_token(self, role: str, user: str | None, now: datetime,
                     token: str | None = None) -> str:
        """A new token (only its hash is stored); `token` given: make sure it exists."""
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        token = token or "zt_" + secrets.token_urlsafe(32)
        digest = hashlib.sha256(token.encode()).hexdigest()
        ApiToken.insert(token_hash=digest, role=role, user=user, created_at=now
                        ).on_conflict_ignore().execute()
        return token

    def token(self, token: str) -> Record | None:
        """The live token with this value (looked up by its hash), or None."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        row = ApiToken.get_or_none(ApiToken.token_hash == digest, ApiToken.revoked_at.is_null())
        return None if row is None else {"id": row.id, "role": row.role, "user": row.user}

    def token_id(self, token: str) -> int:
        digest = hashlib.sha256(token.encode()).hexdigest()
        return int(ApiToken.get(ApiToken.token_hash == digest).id)

    def listing(self) -> list[Record]:
        return [{"id": t.id, "role": t.role, "user": t.user, "created_at": iso(t.created_at),
                 "revoked_at": iso(t.revoked_at) if t.revoked_at else None}
                for t in ApiToken.select().order_by(ApiToken.id)]

    def revoke_token(self, token_id: int, now: datetime) -> None:
        if ApiToken.get_or_none(ApiToken.id == token_id) is None:
            raise NotFoundError(f"no token {token_id}")
        ApiToken.update(revoked_at=now).where(ApiToken.id == token_id,
                                              ApiToken.revoked_at.is_null()).execute()
