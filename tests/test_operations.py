"""Health, headers, and logs that carry no secrets or PHI."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import ClientSession

from server.logs import JsonFormatter
from tests.conftest import Harness

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def test_health_and_readiness(alongside: Harness) -> None:
    async with ClientSession() as http:
        async with http.get(alongside.url + "/healthz") as r:
            assert r.status == 200 and (await r.json())["ok"] is True
        async with http.get(alongside.url + "/readyz") as r:
            assert r.status == 200
        await alongside.store.close()  # the store goes away: not ready, still alive
        async with http.get(alongside.url + "/readyz") as r:
            assert r.status == 503 and (await r.json())["error"]["code"] == "E_UNAVAILABLE"
        async with http.get(alongside.url + "/healthz") as r:
            assert r.status == 200
        await alongside.store.open()


async def test_events_answer_unavailable_while_the_store_is_down(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    await alongside.store.close()
    ack = await clinician.call("lock", {"locked": True})
    assert ack["error"]["code"] == "E_UNAVAILABLE"
    await alongside.store.open()
    assert (await clinician.call("lock", {"locked": True}))["ok"]


async def test_pages_send_security_headers(alongside: Harness) -> None:
    async with ClientSession() as http:
        for path in ("/room", "/healthz", "/static/vendor/README.md"):
            async with http.get(alongside.url + path) as r:
                csp = r.headers["Content-Security-Policy"]
                assert "unsafe-inline" not in csp and "script-src 'self'" in csp, path
                assert r.headers["Referrer-Policy"] == "no-referrer"
                assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(alongside.url + "/static/../server/settings.py") as r:
            assert r.status in (403, 404)


async def test_logs_carry_no_tokens_names_or_sdp(alongside: Harness, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    clinician = await alongside.peer("clinician", name="Dr. Unique-Name")
    client = await alongside.admitted("client", clinician, name="Samantha Secret")
    await client.call("offer", {"to": "clinician-1", "sdp": SDP + "a=secret-sdp-line\r\n"})
    await client.call("offer", {"to": "clinician-1", "sdp": "not sdp secret-bad-sdp"})
    await client.call("no-such-event", {"x": "secret-payload"})
    await clinician.call("deny", {"participant": "nobody", "reason": "secret-reason"})
    bad = alongside.token("client", name="Samantha Secret")[:-4] + "AAAA"
    from tests.peers import Peer

    forged = Peer(alongside.url, bad)
    alongside.peers.append(forged)
    try:
        await forged.connect()
    except Exception:
        pass
    formatter = JsonFormatter()
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert "connect.refused" in text  # logging happened at all
    for secret in ("Unique-Name", "Samantha", "secret-sdp-line", "secret-bad-sdp",
                   "secret-payload", "secret-reason", bad[:40], clinician.token[:40],
                   "client-1", "clinician-1"):
        assert secret not in text, secret
