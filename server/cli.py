"""The ``alongside`` command: ``serve`` and ``token``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from dataclasses import replace

import uvloop
from aiohttp import web

from server import demo
from server.app import create_app
from server.appkeys import REALTIME, STORE
from server.logs import configure, log_event
from server.readiness import is_ready
from server.settings import Settings
from server.step_aside import Listener, StepAside


async def _serve(settings: Settings, seed_demo: bool) -> None:
    app = create_app(settings)
    invite: list[str] = []
    if seed_demo:
        async def seed(app: web.Application) -> None:
            invite.append(await demo.seed(app[STORE]))
        app.on_startup.append(seed)
    # No access log: even a path can say more than it should, and engineio's
    # query strings are noise. Our own events are logged content-free.
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
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
        print("Demo links (open each in its own tab):", flush=True)
        for line in demo.links(settings, invite[0]):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alongside")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the session server")
    serve.add_argument("--demo", action="store_true", help="seed the demo program, print links")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    tok = sub.add_parser("token", help="print an access token for the demo program")
    tok.add_argument("--role", required=True, choices=[*sorted(demo.PEOPLE), "integrator"])
    tok.add_argument("--room", default=demo.COUPLES_ROOM)
    tok.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    if args.command == "token":
        print(demo.token(settings, args.role, args.room, args.ttl))
        return 0
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = replace(settings, public_url="", allowed_origins=(), **overrides)
    configure(settings.log_level)
    try:
        # uvloop: a faster event loop for the same code (the benchmark measures it).
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(settings, args.demo))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
