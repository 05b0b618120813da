"""HTTP plumbing: bounded bodies, bearer tokens and roles, one mapping from errors to statuses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zentra_rules.domain import jsonlimits
from zentra_rules.domain.errors import CompileError, ConflictError, ForbiddenError, NotFoundError, ZentraError

log = logging.getLogger("zentra.http")

MAX_BODY = 1024 * 1024          # 1 MiB, for the API and inbound webhooks alike
ADMIN = ("admin",)
EDIT = ("admin", "editor")
AGENT = ("admin", "editor", "agent")
ANY = ("admin", "editor", "agent", "viewer")


class HTTPError(Exception):
    """An answer other than success, decided before the layers below were reached."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@dataclass
class Call:
    """One authenticated request, as the handlers see it."""

    request: Request
    caller: dict[str, Any]           # {"id", "role", "user"} of the token
    body: Any = None

    @property
    def params(self) -> dict[str, str]:
        return dict(self.request.path_params)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    @property
    def actor(self) -> str:
        return f"user:{self.caller['user']}" if self.caller.get("user") else f"token:{self.caller['id']}"


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refused with 413 past `limit` without reading the rest into memory."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise HTTPError(400, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise HTTPError(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """The body through the JSON gate: 400 when it is not JSON, 422 past a limit (with where)."""
    if not raw.strip():
        raise HTTPError(400, "the body is empty; send a JSON object")
    try:
        return jsonlimits.loads(raw)
    except jsonlimits.NotJSON as exc:
        raise HTTPError(400, str(exc)) from None
    except jsonlimits.JSONLimitError as exc:
        raise HTTPError(422, jsonlimits.describe(exc), path=exc.path) from None


MAX_PARAM = 1000   # characters in one path segment or query value


def check_params(request: Request) -> None:
    """Path and query values are text a database can compare: no NUL, no lone surrogate, not
    endless (422 naming the parameter); ids are checked by the handlers that read them."""
    for where, values in (("path", request.path_params), ("query", request.query_params)):
        for name, value in values.items():
            if not isinstance(value, str):
                continue
            try:
                jsonlimits.check(value)
                if len(value) > MAX_PARAM:
                    raise jsonlimits.JSONLimitError(f"{len(value)} characters; at most {MAX_PARAM}")
            except jsonlimits.JSONLimitError as exc:
                raise HTTPError(422, f"the {where} parameter `{name[:40]}`: {exc}") from None


def error_response(exc: Exception) -> JSONResponse:
    """Every error the layers below raise on purpose, with its status; nothing else is a 4xx."""
    if isinstance(exc, HTTPError):
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status)
    if isinstance(exc, CompileError):
        errors = [d.to_dict() for d in exc.diagnostics if d.severity == "error"]
        return JSONResponse({"error": "the script does not compile", "errors": errors},
                            status_code=422)
    status = (404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, ForbiddenError)
              else 409 if isinstance(exc, ConflictError) else 422)
    return JSONResponse({"error": str(exc)}, status_code=status)


Handler = Callable[[Call], Any]


def endpoint(roles: tuple[str, ...], handler: Handler, body: bool = False,
             status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """An async Starlette endpoint: token and role first, then the body, then the handler.

    The handler runs in a worker thread (the store is synchronous) and returns a JSON-able value,
    or a Response of its own."""

    async def run(request: Request) -> Response:
        try:
            caller = await run_in_threadpool(authenticate, request, roles)
            check_params(request)
            data = None
            if body:
                data = parse_json(await read_body(request))
                if not isinstance(data, dict):
                    raise HTTPError(422, "the body must be a JSON object")
            result = await run_in_threadpool(handler, Call(request, caller, data))
        except (HTTPError, ZentraError) as exc:
            return error_response(exc)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=status)
    run.__name__ = handler.__name__
    return run


def authenticate(request: Request, roles: tuple[str, ...]) -> dict[str, Any]:
    """The token's record, or 401 (no or bad token) / 403 (a role this endpoint refuses)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPError(401, "send `Authorization: Bearer TOKEN` (create one with "
                             "`zentra token create --role ROLE`)")
    found = request.app.state.store.tokens.token(token.strip())
    if found is None:
        raise HTTPError(401, "that token is not valid (unknown or revoked)")
    if found["role"] not in roles:
        raise HTTPError(403, f"the {found['role']} role may not do this; it needs "
                             + " or ".join(roles))
    return found  # type: ignore[no-any-return]


def need(body: dict[str, Any], key: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
    """A body field of the right JSON type, or 422 naming it."""
    if key not in body or body[key] is None:
        if required:
            raise HTTPError(422, f"`{key}` is required")
        return None
    value = body[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = {str: "a string", int: "an integer", dict: "an object", list: "a list", bool: "true or false"}
        wanted = kind if isinstance(kind, tuple) else (kind,)
        raise HTTPError(422, f"`{key}` must be " + " or ".join(names.get(k, k.__name__) for k in wanted))
    return value
