"""Hostile REST input gets a documented JSON error, never a 500 or plain text.

Through a real server on a real port: bodies nested past the documented depth, bodies
too large (sent or announced), the wrong Content-Type, hidden characters in names and
notes, aiohttp's own 404/405, and a genuinely unexpected failure (a corrupt row in
the SQLite file) that must answer ``E_INTERNAL`` and log where, not what.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession

from server.domain.partner import hash_secret
from server.errors import http_status
from server.json_depth import MAX_DEPTH
from server.logs import JsonFormatter
from tests.conftest import Harness

DEEP = b'{"secret": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
JSON = "application/json"


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def send(http: ClientSession, h: Harness, method: str, path: str, data: bytes | None,
               token: str | None = None, content_type: str | None = JSON
               ) -> tuple[int, str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with http.request(method, h.url + path, data=data, headers=headers) as r:
        text = await r.text()
        return r.status, r.content_type, json.loads(text) if r.content_type == JSON else text


def assert_refused(answer: tuple[int, str, Any], code: str) -> None:
    status, content_type, data = answer
    assert content_type == JSON, answer
    assert data["ok"] is False and data["error"]["code"] == code, answer
    assert status == http_status(data["error"]["code"]) and data["error"]["message"]


def tokens(h: Harness) -> dict[str, str]:
    return {"integrator": h.token("integrator", sub="host", program="*", room="-"),
            "clinician": h.token("clinician"), "client": h.token("client"),
            "partner": h.token("partner")}


# Every POST route, with a caller allowed to reach its body.
POSTS = [("/api/invites/preview", None), ("/api/invites/respond", None),
         ("/api/invites/ask", None),
         ("/api/programs", "integrator"), ("/api/programs/prog-1/sessions", "clinician"),
         ("/api/programs/prog-1/partner/steps", "client"),
         ("/api/programs/prog-1/partner/session-token", "partner"),
         ("/api/programs/prog-1/invites", "clinician"),
         ("/api/programs/prog-1/checkins", "clinician"),
         ("/api/programs/prog-1/partner/group-invites", "clinician"),
         ("/api/partner-group/open", None),
         ("/api/programs/prog-1/family-invites", "clinician"),
         ("/api/family-invite/open", None)]


# POST routes that read no body (an action named by the path alone).
BODYLESS = {"/api/programs/{program}/webhooks/{event}/replay"}


def test_the_list_covers_every_post_route(alongside: Harness) -> None:
    routes = {r.resource.canonical for r in alongside.app.router.routes()
              if r.method == "POST" and r.resource is not None
              and r.resource.canonical.startswith("/api/")}
    assert routes - BODYLESS == {path.replace("prog-1", "{program}") for path, _ in POSTS}


async def test_deep_nesting_is_a_schema_error_on_every_post_route(
        alongside: Harness, http: ClientSession) -> None:
    t = tokens(alongside)
    for path, role in POSTS:
        assert_refused(await send(http, alongside, "POST", path, DEEP,
                                  t[role] if role else None), "E_SCHEMA")
    # The documented depth: 32 levels pass the scan (and fail only the shape), 33 do not.
    at_limit = b'{"secret": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    status, _, data = await send(http, alongside, "POST", "/api/invites/preview", at_limit)
    assert status == 422 and "nested" not in data["error"]["message"]
    past = b'{"secret": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    status, _, data = await send(http, alongside, "POST", "/api/invites/preview", past)
    assert status == 422 and "nested" in data["error"]["message"]
    # Brackets inside strings are text, not depth.
    status, _, data = await send(http, alongside, "POST", "/api/invites/preview",
                                 json.dumps({"secret": "[" * 100}).encode())
    assert_refused((status, JSON, data), "E_INVITE_INVALID")


async def test_a_body_too_large_is_e_too_large(alongside: Harness, http: ClientSession) -> None:
    big = json.dumps({"secret": "x" * (2 * 1024 * 1024)}).encode()
    assert_refused(await send(http, alongside, "POST", "/api/invites/preview", big), "E_TOO_LARGE")
    assert_refused(await send(http, alongside, "POST", "/api/programs/prog-1/checkins", big,
                              tokens(alongside)["clinician"]), "E_TOO_LARGE")
    # Sent in chunks without a Content-Length: counted as it arrives.
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    async with http.post(alongside.url + "/api/invites/preview", data=chunks(),
                         headers={"Content-Type": JSON}) as r:
        assert_refused((r.status, r.content_type, await r.json()), "E_TOO_LARGE")


async def test_an_announced_length_too_large_is_refused_before_reading(
        alongside: Harness) -> None:
    url = urlsplit(alongside.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(b"POST /api/invites/preview HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 413")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    answer = json.loads(await asyncio.wait_for(reader.readexactly(length), 5))
    assert answer["error"]["code"] == "E_TOO_LARGE"
    writer.close()


async def test_a_body_that_is_not_json_is_refused(alongside: Harness,
                                                  http: ClientSession) -> None:
    body = json.dumps({"secret": "s" * 20}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "application/json; charset=latin-1", None):
        assert_refused(await send(http, alongside, "POST", "/api/invites/preview", body,
                                  content_type=content_type), "E_UNSUPPORTED_MEDIA_TYPE")
    assert_refused(await send(http, alongside, "POST", "/api/programs/prog-1/checkins", body,
                              tokens(alongside)["clinician"], "text/plain"),
                   "E_UNSUPPORTED_MEDIA_TYPE")
    # JSON with its charset named passes (and then finds no such invite).
    assert_refused(await send(http, alongside, "POST", "/api/invites/preview", body,
                              content_type="application/json; charset=UTF-8"),
                   "E_INVITE_INVALID")
    assert_refused(await send(http, alongside, "POST", "/api/invites/preview", b"{not json"),
                   "E_SCHEMA")


HIDDEN = ["Sam\u202eevil", "Sam\u2066", "Sa\u200bm", "Sam\ufeff", "Sam\u200f", "Sam\u061c",
          "Sa\u0007m", "Sam\nRivera", "Sam\u0085", "Sa\u2060m", "Sa\u200dm"]


async def test_hidden_characters_in_names_and_notes_are_schema_errors(
        alongside: Harness, http: ClientSession) -> None:
    t = tokens(alongside)
    for i, name in enumerate(HIDDEN):
        body = {"id": f"prog-h{i}", "client": {"id": "c", "name": name},
                "clinicians": [{"id": "d", "name": "Dr. Rivera"}]}
        assert_refused(await send(http, alongside, "POST", "/api/programs",
                                  json.dumps(body).encode(), t["integrator"]), "E_SCHEMA")
    for note in ("fine\u202e", "a\u0000b", "zero\u200bwidth"):
        assert_refused(await send(http, alongside, "POST", "/api/programs/prog-1/checkins",
                                  json.dumps({"readiness": 3, "note": note}).encode(),
                                  t["clinician"]), "E_SCHEMA")
    # A note may have line breaks; names are stored as NFC ("e" + combining acute = "é").
    status, _, _ = await send(http, alongside, "POST", "/api/programs/prog-1/checkins",
                              json.dumps({"readiness": 3, "note": "one\ntwo\r\n"}).encode(),
                              t["clinician"])
    assert status == 201
    body = {"id": "prog-nfc", "client": {"id": "c", "name": "Jose\u0301"},
            "clinicians": [{"id": "d", "name": "Dr. Rivera"}]}
    status, _, _ = await send(http, alongside, "POST", "/api/programs",
                              json.dumps(body).encode(), t["integrator"])
    assert status == 201
    status, _, program = await send(http, alongside, "GET", "/api/programs/prog-nfc", None,
                                    t["integrator"])
    assert status == 200 and program["client"]["name"] == "Jos\u00e9"


async def test_hidden_characters_in_a_socket_reason_and_a_token_name(
        alongside: Harness) -> None:
    clinician = await alongside.peer("clinician", name="Dr.\u202eRivera\u200b")
    client = await alongside.peer("client")
    ack = await clinician.call("deny", {"participant": "client-1", "reason": "Not\u202e now"})
    assert ack["error"]["code"] == "E_SCHEMA"
    assert client.events("denied") == []
    ack = await clinician.call("deny", {"participant": "client-1", "reason": "Not now"})
    assert ack["ok"]
    assert (await client.wait_for("denied"))["reason"] == "Not now"
    # A signed name is the host platform's: its hidden characters are dropped, not refused.
    assert clinician.join_ack["you"]["name"] == "Dr.Rivera"  # type: ignore[attr-defined]


async def test_aiohttp_errors_under_api_are_documented_json(alongside: Harness,
                                                            http: ClientSession) -> None:
    assert_refused(await send(http, alongside, "GET", "/api/no-such-thing", None), "E_NOT_FOUND")
    assert_refused(await send(http, alongside, "POST", "/api/nope", b"{}"), "E_NOT_FOUND")
    async with http.delete(alongside.url + "/api/invites/preview") as r:
        assert_refused((r.status, r.content_type, await r.json()), "E_METHOD_NOT_ALLOWED")
        assert r.headers["Allow"] == "POST"


async def test_an_unexpected_failure_is_e_internal_logged_without_content(
        alongside: Harness, http: ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    """A program row the code cannot read (a manual edit, a half-done migration): the
    invite pointing at it makes ``respond`` fail inside the decoder."""
    secret = "s" * 43
    path = alongside.settings.store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO docs VALUES ('program', 'prog-bad', 'prog-bad', 1, ?)",
                   (json.dumps({"id": "prog-bad", "client": {"name": "Corrupt-Row-Sentinel"},
                                "partner": {"id": "p"}}),))
        db.execute("INSERT INTO docs VALUES ('invite-hash', ?, 'prog-bad', 1, ?)",
                   (hash_secret(secret), json.dumps({"program": "prog-bad", "invite": "i"})))
    body = json.dumps({"secret": secret, "decision": "consent", "documentVersion": "v",
                       "name": "Body-Name-Sentinel"}).encode()
    with caplog.at_level(logging.ERROR, logger="alongside"):
        answer = await send(http, alongside, "POST", "/api/invites/respond", body)
    assert_refused(answer, "E_INTERNAL")
    lines = [JsonFormatter().format(r) for r in caplog.records if r.getMessage() == "http.crashed"]
    assert len(lines) == 1, caplog.records
    logged = json.loads(lines[0])
    assert logged["error"] == "KeyError"
    assert logged["where"].startswith("server/domain/program.py:")
    assert logged["path"] == "/api/invites/respond" and logged["method"] == "POST"
    for content in ("Sentinel", secret, "history", "prog-bad"):
        assert content not in lines[0]
    # The server goes on serving.
    status, _, _ = await send(http, alongside, "POST", "/api/invites/preview",
                              json.dumps({"secret": "t" * 43}).encode())
    assert status == 404
