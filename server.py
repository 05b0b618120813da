"""The Zentra rules service: the REST API, inbound webhooks and the playground (Starlette).

HTTP only: authentication, validation and mapping requests to the engine and the store. With
`embedded_worker` the same process also runs the queue consumer, the sweeper and the lease
heartbeat (`zentra serve` on the embedded defaults); at scale, `zentra worker` processes do that.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from huey import Huey
from huey.consumer import Consumer
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from runtime.durable.queue import CONSUMER_OPTIONS, start_upkeep
from zentra_rules.domain.clock import Clock
from zentra_rules.domain.config import Config
from zentra_rules.domain.errors import NotFoundError, WebhookVerificationError, ZentraError
from zentra_rules.integrations.webhooks import verify
from zentra_rules.interfaces import cli
from zentra_rules.interfaces.api import handlers as h
from zentra_rules.interfaces.api import language
from zentra_rules.interfaces.api.http import (
    ADMIN,
    AGENT,
    ANY,
    EDIT,
    HTTPError,
    check_params,
    endpoint,
    error_response,
    parse_json,
    read_body,
)
from zentra_rules.interfaces.api.openapi import openapi_document
from zentra_rules.interfaces.process import open_app
from zentra_rules.interfaces.web import STATIC

log = logging.getLogger("zentra.server")

# (method, path, roles, handler, takes a JSON body, success status): the API in one table; the
# OpenAPI document is written from it, so the two cannot drift apart.
API: list[tuple[str, str, tuple[str, ...], Any, bool, int]] = [
    ("GET", "/api/triggers", ANY, language.triggers, False, 200),
    ("POST", "/api/workflows", EDIT, h.publish, True, 201),
    ("GET", "/api/workflows", ANY, h.definitions, False, 200),
    ("GET", "/api/workflows/{name}", ANY, h.definition, False, 200),
    ("POST", "/api/workflows/{name}/activate", EDIT, h.activate, True, 200),
    ("POST", "/api/workflows/{name}/deactivate", EDIT, h.deactivate, False, 200),
    ("POST", "/api/playground/check", EDIT, h.check, True, 200),
    ("POST", "/api/playground/dry-run", EDIT, h.dry_run, True, 200),
    ("GET", "/api/playground/samples", EDIT, h.samples, False, 200),
    ("POST", "/api/tickets", AGENT, h.create_ticket, True, 201),
    ("GET", "/api/tickets/{id}", AGENT, h.get_ticket, False, 200),
    ("PATCH", "/api/tickets/{id}", AGENT, h.patch_ticket, True, 200),
    ("GET", "/api/tickets/{id}/timeline", AGENT, h.ticket_timeline, False, 200),
    ("POST", "/api/assets", AGENT, h.create_asset, True, 201),
    ("GET", "/api/assets/{id}", AGENT, h.get_asset, False, 200),
    ("PATCH", "/api/assets/{id}", AGENT, h.patch_asset, True, 200),
    ("GET", "/api/assets/{id}/timeline", AGENT, h.asset_timeline, False, 200),
    ("POST", "/api/changes", AGENT, h.create_change, True, 201),
    ("GET", "/api/changes/{id}", AGENT, h.get_change, False, 200),
    ("PATCH", "/api/changes/{id}", AGENT, h.patch_change, True, 200),
    ("GET", "/api/changes/{id}/timeline", AGENT, h.change_timeline, False, 200),
    ("POST", "/api/users", ADMIN, h.create_user, True, 201),
    ("POST", "/api/scenarios/{name}/run", AGENT, h.run_scenario, True, 201),
    ("GET", "/api/executions", ANY, h.executions, False, 200),
    ("GET", "/api/executions/{id}", ANY, h.execution, False, 200),
    ("GET", "/api/executions/{id}/graph", ANY, h.execution_graph, False, 200),
    ("GET", "/api/events", ANY, h.events, False, 200),
    ("GET", "/api/approvals", ANY, h.approvals, False, 200),
    ("POST", "/api/approvals/{id}/decide", ANY, h.decide, True, 200),
    ("POST", "/api/webhooks/inbound", ADMIN, h.inbound_endpoint, True, 201),
    ("POST", "/api/webhooks/outbound", ADMIN, h.outbound_endpoint, True, 201),
    ("POST", "/api/automation-rules", ADMIN, h.create_rule, True, 201),
    ("GET", "/api/automation-rules/{id}", ADMIN, h.rule, False, 200),
    ("GET", "/api/automation-rules/{id}/zflow", ADMIN, h.rule_zflow, False, 200),
    ("POST", "/api/tokens", ADMIN, h.create_token, True, 201),
    ("GET", "/api/tokens", ADMIN, h.tokens, False, 200),
    ("DELETE", "/api/tokens/{id}", ADMIN, h.revoke_token, False, 204),
]


async def inbound_hook(request: Request) -> Response:
    """`POST /hooks/{name}`: a signed delivery becomes a `webhook.received` event (202)."""
    state, name = request.app.state, request.path_params["name"]
    try:
        check_params(request)
        endpoint_ = await run_in_threadpool(state.store.webhooks.endpoint, name, "inbound")
        raw = await read_body(request)
        webhook_id = verify(endpoint_["secret"], request.headers, raw, time.time())
        payload = parse_json(raw)
        if not isinstance(payload, dict):
            raise HTTPError(400, "the payload must be a JSON object")
        event = await run_in_threadpool(state.engine.receive_webhook, name, payload, webhook_id,
                                        f"webhook:{name}")
    except WebhookVerificationError as exc:
        return JSONResponse({"error": str(exc)}, status_code=401)
    except (HTTPError, ZentraError) as exc:
        return error_response(exc)
    return JSONResponse({"event_id": event}, status_code=202)


async def playground(request: Request) -> Response:
    return FileResponse(STATIC / "playground.html", media_type="text/html")


async def static(request: Request) -> Response:
    return _static_file(STATIC, request.path_params["file"])


async def vendored(request: Request) -> Response:
    return _static_file(STATIC / "vendor", request.path_params["file"])


def _static_file(folder: Path, name: str) -> Response:
    """A file of `folder` itself (never of a folder above or below it), with its media type."""
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        return error_response(NotFoundError(f"no file {name}"))
    # Browsers refuse an ES module served as anything but JavaScript, whatever the OS guesses.
    media = {".js": "text/javascript", ".css": "text/css", ".json": "application/json",
             ".html": "text/html"}.get(path.suffix)
    return FileResponse(path, media_type=media)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(API))


async def not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = {404: f"no such endpoint: {request.url.path}",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(
        status, "the request could not be handled")
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def crashed(request: Request, exc: Exception) -> Response:
    # A bug, never bad input: logged with its traceback, answered without one.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "internal error; the server log has the details"}, status_code=500)


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer without its signal handlers: uvicorn owns SIGINT/SIGTERM in `serve`."""

    def _set_signal_handlers(self) -> None:
        pass


class _Worker:
    """The consumer, sweeper and lease heartbeat running inside the server process."""

    def __init__(self, app: Any, workers: int):
        self.app, self.stop_event = app, threading.Event()
        self.consumer = _EmbeddedConsumer(app.huey, workers=workers, **CONSUMER_OPTIONS)

    def start(self) -> None:
        self.consumer.start()
        start_upkeep(self.app.engine, self.stop_event, self.app.engine.config.sweep_seconds)

    def stop(self) -> None:
        self.stop_event.set()
        self.consumer.stop(graceful=True)


def create_app(config: Config, clock: Clock | None = None, huey: Huey | None = None,
               embedded_worker: bool = False) -> Starlette:
    """The ASGI application on the configured database and queue."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        core = await run_in_threadpool(open_app, config, clock, huey)
        app.state.engine, app.state.store, app.state.huey = core.engine, core.store, core.huey
        app.state.config = config
        if config.admin_token:   # bootstrap: the configured admin token exists
            with core.store.tx():
                core.store.tokens.create_token("admin", None, core.engine.clock.now(), config.admin_token)
        worker = _Worker(core, config.workers) if embedded_worker else None
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()

    routes = [Route(path, endpoint(roles, handler, body, status), methods=[method])
              for method, path, roles, handler, body, status in API]
    routes += [Route("/hooks/{name}", inbound_hook, methods=["POST"]),
               Route("/playground", playground, methods=["GET"]),
               Route("/playground/static/{file}", static, methods=["GET"]),
               Route("/playground/static/vendor/{file}", vendored, methods=["GET"]),
               Route("/openapi.json", openapi, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={HTTPException: not_found, Exception: crashed})


def serve(config: Config, host: str, port: int) -> None:
    """`zentra serve`: HTTP and an embedded worker in one process, until SIGINT/SIGTERM."""
    uvicorn.run(create_app(config, embedded_worker=True), host=host, port=port,
                log_level="info", access_log=False, lifespan="on")


def main(argv: list[str] | None = None) -> int:
    """The `zentra` program: the command line's commands, with `serve` running this service."""
    return cli.main(argv, serve=serve)


if __name__ == "__main__":
    sys.exit(main())
