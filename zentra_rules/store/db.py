"""Opening the database by URL, creating and migrating the schema, append-only triggers."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import peewee as pw
from playhouse.db_url import connect

from zentra_rules.domain.errors import InputError
from zentra_rules.store.models import (
    APPEND_ONLY,
    MODELS,
    Activation,
    Definition,
    DefinitionVersion,
    Meta,
    proxy,
)

# 2: the activation history, record links, the records an event was matched with.
SCHEMA_VERSION = 2
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def open_database(url: str) -> pw.Database:
    """`sqlite:///path` (embedded) or `postgresql://...[?schema=NAME]`; binds the models to it."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise InputError(f"database.url {url!r}: a SQLite URL names a file, "
                             "e.g. sqlite:///zentra.db")
        # IMMEDIATE transactions take the write lock up front, and WAL lets readers go on, so
        # concurrent workers queue on the busy timeout instead of failing with "locked".
        db: pw.Database = pw.SqliteDatabase(path, lock_type="IMMEDIATE", pragmas={
            "journal_mode": "wal", "busy_timeout": 30_000, "foreign_keys": 1,
            "synchronous": "normal"})
    elif parts.scheme in ("postgres", "postgresql"):
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", None)
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise InputError(f"database.url: schema {schema!r} is not a plain lower-case name")
        if schema:
            query["options"] = f"-c search_path={schema}"
        db = connect(urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query))))
        if schema:
            with db.connection_context():
                db.execute_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    else:
        raise InputError(f"database.url {url!r}: expected sqlite:///FILE or postgresql://…")
    proxy.initialize(db)
    migrate(db)
    return db


def migrate(db: pw.Database) -> None:
    """Create what is missing and record the schema version; safe to run from many processes."""
    with db.connection_context():
        db.create_tables(MODELS, safe=True)
        _append_only(db)
        with db.atomic():
            row = Meta.get_or_none(Meta.key == "schema_version")
            if row is None:
                Meta.insert(key="schema_version", value=str(SCHEMA_VERSION)).on_conflict_ignore(
                ).execute()
            elif int(row.value) > SCHEMA_VERSION:
                raise InputError(f"the database has schema version {row.value}, newer than this "
                                 f"engine's {SCHEMA_VERSION}: upgrade the engine")
            elif int(row.value) < SCHEMA_VERSION and Meta.update(value=str(SCHEMA_VERSION)).where(
                    Meta.key == "schema_version", Meta.value == row.value).execute():
                # Compare-and-set: of many processes starting at once, one upgrades.
                _upgrade(db, int(row.value))


def _upgrade(db: pw.Database, version: int) -> None:
    """Bring a database of an older schema version up to this one (inside the transaction)."""
    if version < 2:
        if "records" not in {c.name for c in db.get_columns("event")}:
            db.execute_sql("ALTER TABLE event ADD COLUMN records TEXT")
        # The history starts now: each active version counts as active since it was published.
        for d in Definition.select().where(Definition.active_version.is_null(False)):
            v = DefinitionVersion.get_or_none(DefinitionVersion.definition == d.name,
                                              DefinitionVersion.version == d.active_version)
            if v is not None:
                Activation.create(definition=d.name, version=v.version, version_row=v.id,
                                  kind=d.kind, active_from=v.created_at, active_until=None)


def _append_only(db: pw.Database) -> None:
    if isinstance(db, pw.SqliteDatabase):
        for table in APPEND_ONLY:
            message = f"{table} is append-only"
            db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
            db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
            # INSERT OR REPLACE deletes the old row without firing delete triggers (unless
            # recursive_triggers is on), so an insert that would collide is refused up front.
            db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
                           f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
                           f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
        return
    db.execute_sql(
        "CREATE OR REPLACE FUNCTION zentra_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME; END $$")
    for table in APPEND_ONLY:
        db.execute_sql(f"CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON "
                       f"{table} FOR EACH ROW EXECUTE FUNCTION zentra_append_only()")
        db.execute_sql(f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION zentra_append_only()")
