"""The HTTP service (Starlette on uvicorn): REST API, inbound webhooks and the web playground.

Not built yet in this version. Until it is, the engine is used through the `zentra` command
(`check`, `compile`, `dry-run`) and the Python API (`compiler.compile_source`,
`runtime.Matcher`, `runtime.dry_run`); `zentra serve` and `zentra worker` do not exist yet.
"""
