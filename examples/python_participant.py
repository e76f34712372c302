"""Join an Alongside room from Python and print the size of each peer's first video frame.

    .venv/bin/alongside serve --demo          # prints the clinician's link; open it
    .venv/bin/python examples/python_participant.py \\
        --token "$(.venv/bin/alongside token --role client)"

The client knocks; admit it from the clinician's page. It sends aiortc's test pattern and
silence (or ``--media FILE``) and runs until Ctrl-C. See docs/python-participant.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from server.media.participant import (  # noqa: E402
    FINAL_EVENTS,
    ConnectRefused,
    NotAdmitted,
    Participant,
    RemoteTrack,
)


async def report(me: Participant, remote: RemoteTrack, since: float) -> None:
    names = {p["id"]: p["name"] for p in me.participants}
    frame = await me.first_frame(remote.peer, timeout=60)
    print(f"{names.get(remote.peer, remote.peer)}: first video frame {frame.width}x"
          f"{frame.height}, {time.monotonic() - since:.2f} s after admission")


async def run(url: str, token: str, media: str | None) -> int:
    async with Participant(media=media) as me:
        try:
            await me.connect(url, token)
        except ConnectRefused as refusal:
            print(f"refused: {refusal.code} {refusal.message}")
            return 1
        ack = await me.join()
        if not ack["ok"]:
            print(f"join refused: {ack['error']['code']}")
            return 1
        print(f"joined {ack['room']['id']} as {ack['you']['name']} ({me.state})")
        if me.state != "admitted":
            print("waiting in the lobby for the clinician...")
            try:
                await me.wait_admitted(timeout=3600)
            except NotAdmitted as no:
                print(f"not admitted: {no.event} {no.payload or ''}")
                return 1
        admitted = time.monotonic()
        print("admitted; Ctrl-C to leave")

        reports: set[asyncio.Task[None]] = set()

        async def watch_tracks() -> None:
            while True:
                remote = await me.remote_tracks.get()
                if remote.kind == "video":
                    task = asyncio.create_task(report(me, remote, admitted))
                    reports.add(task)
                    task.add_done_callback(reports.discard)

        watcher = asyncio.create_task(watch_tracks())
        try:
            async for event, payload in me.stream():
                if event == "presence":
                    print(f"{payload['participant']}: {payload['status']}")
                elif event in FINAL_EVENTS:
                    print(f"{event}: {payload or ''}")
                    return 0
        finally:
            watcher.cancel()
            for task in reports:
                task.cancel()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the Alongside server")
    parser.add_argument("--token", required=True, help="an access token (alongside token ...)")
    parser.add_argument("--media", help="a video/audio file to send instead of the test pattern")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connection states")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        return asyncio.run(run(args.url, args.token, args.media))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
