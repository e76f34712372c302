"""The ``alongside`` command: ``serve``, ``token``, and ``backup``/``restore`` of the
embedded store."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

import uvloop
from aiohttp import web

from server import demo
from server.app import create_app
from server.appkeys import STORE
from server.catalogues import LOCALES
from server.logs import configure, log_event
from server.readiness import is_ready
from server.realtime.server import REALTIME
from server.settings import Settings
from server.step_aside import Listener, StepAside
from server.store import sqlite_backup
from server.store.sqlite import StoreBusy
from server.tokens import mint

SHUTDOWN_SECONDS = 1.0


async def _serve(settings: Settings, seed_demo: bool, reset_demo: bool = False) -> None:
    janus = None
    if seed_demo:  # the demo's group session sends its media through a Janus of its own
        settings, janus = demo.group_media(settings)
    try:
        await _serve_app(settings, seed_demo, reset_demo)
    finally:
        if janus is not None:
            janus.close()


async def _serve_app(settings: Settings, seed_demo: bool, reset_demo: bool) -> None:
    app = create_app(settings)
    seeded: list[demo.Seeded] = []
    if seed_demo:
        async def seed(app: web.Application) -> None:
            seeded.append(await demo.prepare(app[STORE], reset=reset_demo))
        app.on_startup.append(seed)
    # No access log: even a path can say more than it should, and engineio's
    # query strings are noise. Our own events are logged content-free.
    # shutdown_timeout: what cleanup still waits for open handlers once the drain has closed
    # every socket (or run out of time). aiohttp's default, 60 s, let a websocket whose client
    # kept talking through the close handshake hold the process (and that person) past the
    # drain deadline, until compose's SIGKILL (found by tests/test_rolling_restart.py).
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    listener = Listener(runner, settings.host, settings.port)
    await listener.start()
    log_event("server.started", status="listening")
    watch: asyncio.Future[None] | None = None
    if settings.cluster and settings.peers:
        realtime, store = app[REALTIME], app[STORE]
        aside = StepAside(listener, settings.peers, settings.step_aside_seconds,
                          ready=lambda: is_ready(realtime, store),
                          release=lambda: realtime.release(settings.drain_seconds))
        watch = asyncio.ensure_future(aside.run())
    print(f"Alongside is serving on {settings.public_url}", flush=True)
    if seed_demo:
        print("Demo links (open each in its own tab):" if seeded[0].fresh else
              "Demo links (the demo is kept as the last run left it; "
              "--reset-demo starts it afresh):", flush=True)
        for line in demo.links(settings, seeded[0]):
            print(line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log_event("server.stopping", status="draining")
    if watch is not None:
        watch.cancel()
    await listener.stop()  # stop listening first: reconnects go to the other nodes
    await app[REALTIME].drain(settings.drain_seconds)
    await runner.cleanup()


def _with_flags(args: argparse.Namespace) -> dict[str, str]:
    """The environment with the flags given on top: a flag overrides only the setting it
    names (``--port`` keeps ALONGSIDE_PUBLIC_URL and ALONGSIDE_ALLOWED_ORIGINS)."""
    env = dict(os.environ)
    for flag, var in (("host", "ALONGSIDE_HOST"), ("port", "ALONGSIDE_PORT")):
        value = getattr(args, flag, None)
        if value is not None:
            env[var] = str(value)
    return env


def _backup(settings: Settings, command: str, path: str) -> int:
    """``backup PATH`` (the server may be serving) or ``restore PATH`` (it must be stopped)."""
    try:
        store = sqlite_backup.store_path(settings.store)
        if command == "backup":
            copied = sqlite_backup.backup(store, path)
            print(f"Backed up {store} to {path}: {copied.documents} documents, "
                  f"{copied.audit_rows} audit rows.")
        else:
            copied = sqlite_backup.restore(path, store)
            print(f"Restored {store} from {path}: {copied.documents} documents, "
                  f"{copied.audit_rows} audit rows (the store it replaced is "
                  f"{store}.before-restore).")
    except (sqlite_backup.BackupError, StoreBusy) as refusal:
        print(f"alongside {command}: {refusal}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alongside")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the session server")
    serve.add_argument("--demo", action="store_true",
                       help="seed the demo program unless it exists, print links")
    serve.add_argument("--reset-demo", action="store_true",
                       help="seed the demo afresh (its rooms and partner answers are lost); "
                            "implies --demo")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    tok = sub.add_parser("token", help="print an access token for the demo program")
    tok.add_argument("--role", required=True,
                     choices=[*sorted(demo.PEOPLE), "family", "integrator"])
    tok.add_argument("--room", default=demo.COUPLES_ROOM)
    # A group seats many clients and a family session family members: each needs its own sub.
    tok.add_argument("--sub", help="the person's id (default: the demo person of that role)")
    tok.add_argument("--name", help="the person's name (default: the demo person's)")
    tok.add_argument("--program", help=f"the program (default: {demo.PROGRAM})")
    tok.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    tok.add_argument("--locale", choices=list(LOCALES),
                     help="the token's locale claim: the language the pages start in")
    back = sub.add_parser("backup", help="copy the embedded SQLite store (ALONGSIDE_STORE) "
                                         "to PATH, consistently, while the server serves")
    back.add_argument("path", metavar="PATH")
    rest = sub.add_parser("restore", help="put the backup at PATH in place of the store; "
                                          "refused while any server has the store open")
    rest.add_argument("path", metavar="PATH")
    args = parser.parse_args(argv)

    settings = Settings.from_env(_with_flags(args))
    if args.command == "token":
        if args.sub or args.name or args.program or args.role == "family":
            if args.role == "integrator":
                parser.error("--sub, --name and --program are for a person's token")
            person = demo.PEOPLE.get(args.role, demo.FAMILY_MEMBER)
            print(mint(settings, sub=args.sub or person.sub, name=args.name or person.name,
                       role=args.role, program=args.program or demo.PROGRAM, room=args.room,
                       ttl=args.ttl, locale=args.locale))
        else:
            print(demo.token(settings, args.role, args.room, args.ttl, locale=args.locale))
        return 0
    if args.command in ("backup", "restore"):
        return _backup(settings, args.command, args.path)
    configure(settings.log_level, settings.log_key)
    if settings.cluster and not os.environ.get("ALONGSIDE_LOG_KEY"):
        # var/log-key is this node's own: pseudonyms and the invite limit's buckets
        # would differ between nodes.
        log_event("settings.log_key_not_shared", logging.WARNING, reason="ALONGSIDE_LOG_KEY")
    try:
        # uvloop: a faster event loop for the same code (the benchmark measures it).
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(settings, args.demo or args.reset_demo, args.reset_demo))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
