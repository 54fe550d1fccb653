"""`clubpengu serve`: one node under uvicorn, on the embedded database or MONGODB_URI."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import Any

import uvicorn

from clubpengu.cli.common import (
    Commands,
    ExitCode,
    add_command,
    add_database_options,
    command_settings,
    configuration_error,
)
from clubpengu.cli.database import describe
from clubpengu.config import (
    ConfigError,
    Settings,
    ensure_jwt_secret,
    filter_words,
)
from clubpengu.dbusers import app_login
from clubpengu.logs import configure_logging

# uvicorn accepts frames up to this size so that the app can answer `frame_too_large`
# itself for anything between MAX_FRAME_BYTES and this, instead of a bare 1009 close.
TRANSPORT_MAX_FRAME = 1 << 20

logger = logging.getLogger("clubpengu")


# How long uvicorn waits, once the sockets are closed, for their tasks (each writing its
# leave, grouped with the others') before it cancels them and runs the node's stop: the
# node's stop then writes what they queued, within the one shutdown deadline.
GRACEFUL_SHUTDOWN_SECONDS = 2


class _Server(uvicorn.Server):
    """uvicorn closes open WebSockets with 1012 on shutdown; PROTOCOL.md says 1001, so the
    app closes them itself first (flushing what is queued), then uvicorn carries on. The
    node's shutdown deadline starts here (Node.begin_stop), not when its stop runs."""

    async def shutdown(self, sockets: Any = None) -> None:
        app = self.config.loaded_app
        node = getattr(getattr(getattr(app, "app", app), "state", None), "node", None)
        if node is not None:
            node.begin_stop()
            try:
                await node.realtime.connections.close_all(1001, "server shutting down")
            except Exception:
                logger.exception("closing connections on shutdown failed")
        await super().shutdown(sockets)


class _AnnouncingServer(_Server):
    """`clubpengu serve`: once listening, say where the pages are (a plain line on a
    terminal, a log record when the log is JSON), so a newcomer knows what to open."""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers and self.servers[0].sockets:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            base = f"http://{_url_host(host)}:{port}"
            text = f"Club Pengu is up: play at {base}/play, staff console at {base}/console"
            if sys.stderr.isatty():
                print(text, file=sys.stderr, flush=True)
            else:  # the log is JSON lines: no line of plain text among them
                logger.info(text)


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", "::"}:
        return "127.0.0.1"  # listening everywhere: this machine is one of them
    return f"[{host}]" if ":" in host else host


def _settings_for_serve(args: argparse.Namespace) -> Settings:
    settings = command_settings(args)
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = settings.with_overrides(**overrides)
    settings.check_production()
    if settings.db_auth and settings.embedded_db:
        app_login(settings)  # fail now, with one line, if the users were never created
    return ensure_jwt_secret(settings)


def websocket_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's WebSocket options from Settings. uvicorn pings every WS_PING_INTERVAL and
    drops a peer whose pong is late by the rest of WS_IDLE_TIMEOUT, so a peer that went
    silent right after a pong is dropped WS_IDLE_TIMEOUT later."""
    return {
        "ws_max_size": TRANSPORT_MAX_FRAME,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_idle_timeout - settings.ws_ping_interval,
        "ws_per_message_deflate": settings.ws_compression,
    }


def server_options(settings: Settings) -> dict[str, Any]:
    """Every uvicorn option `clubpengu serve` sets from Settings (the tests' servers use the
    same): the WebSocket options; no `proxy_headers`, because uvicorn would believe
    `X-Forwarded-For` from loopback before the app sees the request, and the app's
    TRUSTED_PROXIES must be the only rule for the client's address (per-address limits,
    hashed addresses); and its HTTP protocol with a deadline for a request's headers
    (transport/header_deadline.py)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from clubpengu.transport.header_deadline import with_header_deadline

    return websocket_options(settings) | {
        "proxy_headers": False,
        "http": with_header_deadline(AutoHTTPProtocol, settings.http_header_timeout),
    }


def _check_rooms(settings: Settings) -> None:
    """A bad CLUBPENGU_ROOMS file stops start-up with one line naming file, entry, problem."""
    from clubpengu.realtime.rooms import CatalogueError, RoomCatalogue

    try:
        RoomCatalogue.load(settings.rooms_file)
    except CatalogueError as error:
        raise ConfigError(f"CLUBPENGU_ROOMS: {error}") from None


def add_parser(commands: Commands) -> None:
    parser = add_command(
        commands,
        "serve",
        "Run the server (starts the embedded database when MONGODB_URI is unset).",
        "clubpengu serve --port 8000 --data-dir ./var/mongo",
    )
    parser.add_argument("--host", help="address to bind (default: HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default: PORT or 8000)")
    add_database_options(parser)
    parser.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> ExitCode:
    try:
        settings = _settings_for_serve(args)
        _check_rooms(settings)
        filter_words(settings)  # a bad CHAT_FILTER_FILE stops start-up with one line
    except ConfigError as error:
        return configuration_error(error)
    configure_logging(settings.log_level, settings.node_id)
    logger.info(f"serving on the {describe(settings)}")
    from clubpengu.transport.app import build_app

    config = uvicorn.Config(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        **server_options(settings),
    )
    # Everything built so far (modules, classes, settings) lives as long as the process:
    # keep it out of every future garbage collection, which shortens the full ones.
    gc.freeze()
    server = _AnnouncingServer(config)
    try:
        server.run()  # uvicorn's loop choice: uvloop when installed
    except KeyboardInterrupt:
        # uvicorn shuts down cleanly on Ctrl-C, then raises the signal again for the
        # default handler: for SIGINT that is this exception, not worth a traceback.
        return ExitCode.INTERRUPTED
    if not server.started:
        return ExitCode.UNAVAILABLE
    return ExitCode.OK
