"""Seed the programs our server needs before a benchmark: one per couples room.

A partner may knock only on a room of their own program once the partner is
approved (the lifecycle of server/domain/partner.py), so each bench room
``NAME`` gets a program ``bench-NAME`` whose clinician ``cl-NAME``, client
``c-NAME`` and approved partner ``p-NAME`` are the people the load generator
brings in. The rooms themselves are not seeded: the clinician's token opens
them ad hoc (``room_kind: "couples"``). This is what tests/conftest.py's
``create_program`` does, through the same store API, run before the server
starts (the server is then the store's only writer).

    python -m bench.seed STORE_URL PREFIX COUNT
"""

from __future__ import annotations

import asyncio
import sys
import time

from server.domain.audit import AuditEntry
from server.domain.program import Partner, Person, Program
from server.store import open_store
from server.store.programs import Programs


async def seed(url: str, names: list[str]) -> None:
    store = open_store(url)
    await store.open()
    try:
        programs = Programs(store)
        now = time.time()
        for name in names:
            pid = f"bench-{name}"
            program = Program(
                id=pid, client=Person(f"c-{name}", "client"),
                clinicians=[Person(f"cl-{name}", "clinician")],
                partner=Partner(id=f"p-{name}", name="partner", state="approved",
                                client_agreed=True, consent_version="bench", consented_at=now))
            await programs.put(program, AuditEntry(actor="bench", role="system",
                                                   action="seed-program", program=pid))
    finally:
        await store.close()


if __name__ == "__main__":
    url, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    asyncio.run(seed(url, [f"{prefix}{i}" for i in range(count)]))
