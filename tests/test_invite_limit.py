"""Guessing invite links is bounded per address for the whole deployment, not per process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import ClientSession

from server.settings import Settings
from server.tokens import mint
from tests.cli_server import CliServer, serve
from tests.conftest import SECRET
from tests.redis_server import RedisServer

BURST = 5
LIMIT = {"ALONGSIDE_INVITE_RATE_BURST": str(BURST),
         # So slow that no token comes back while the test runs: the count is exact.
         "ALONGSIDE_INVITE_RATE_PER_MINUTE": "0.001"}


async def preview(server: CliServer, guess: int, forwarded: str | None = None) -> tuple[int, Any]:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with ClientSession() as http:
        async with http.post(server.url + "/api/invites/preview", headers=headers,
                             json={"secret": f"a-guessed-secret-{guess:08d}"}) as r:
            return r.status, await r.json()


async def test_two_nodes_on_one_redis_share_one_allowance(tmp_path: Path,
                                                          redis_server: RedisServer) -> None:
    env = {**LIMIT, "ALONGSIDE_STORE": redis_server.url, "ALONGSIDE_LOG_KEY": "clinic-key"}
    nodes = [serve(tmp_path / name, env={**env, "ALONGSIDE_NODE_ID": name}, name=name)
             for name in ("app1", "app2")]
    integrator = mint(Settings(jwt_secret=SECRET), sub="host", name="Host", role="integrator",
                      program="*", room="", ttl=600)
    try:
        answers = [await preview(nodes[i % 2], i) for i in range(4 * BURST)]
        async with ClientSession() as http:
            async with http.get(nodes[0].url + "/api/audit",
                                headers={"Authorization": f"Bearer {integrator}"}) as r:
                assert r.status == 200
                export = await r.text()
    finally:
        for node in nodes:
            node.stop()
    # One node's allowance across both (each used to give a full burst of its own), then
    # every guess, on either node, is refused with the documented code.
    codes = [(status, body["error"]["code"]) for status, body in answers]
    assert codes == [(404, "E_INVITE_INVALID")] * BURST + [(429, "E_RATE_LIMITED")] * 3 * BURST

    # The run of refusals is audited once, content-free (the guesses are audited as invalid).
    rows = [json.loads(line) for line in export.splitlines()]
    limited = [r for r in rows if r["outcome"] == "refused:E_RATE_LIMITED"]
    assert [(r["actor"], r["role"], r["action"], r["target"], r["room"], r["program"])
            for r in limited] == [("anonymous", "partner", "open-invite", "", "", "")]
    assert len([r for r in rows if r["outcome"] == "refused:E_INVITE_INVALID"]) == BURST
    # Neither the audit nor the bucket in Redis holds the address.
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        buckets = [key async for key in client.scan_iter("alongside:bucket:*")]
        kept = str(buckets) + str([await client.hgetall(key) for key in buckets])
    finally:
        await client.aclose()
    assert len(buckets) == 1 and "127.0.0.1" not in kept + export


async def test_forwarded_addresses_count_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    # Not trusted (the default): a made-up X-Forwarded-For buys no fresh allowance.
    server = serve(tmp_path / "direct", env=LIMIT)
    try:
        answers = [await preview(server, i, forwarded=f"203.0.113.{i}")
                   for i in range(BURST + 1)]
    finally:
        server.stop()
    assert [status for status, _ in answers] == [404] * BURST + [429]

    # Behind a trusted proxy each client it names has an allowance of its own, and what
    # the client itself wrote further left in the header is not believed.
    server = serve(tmp_path / "proxied", env={**LIMIT, "ALONGSIDE_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        first = [await preview(server, i, forwarded="203.0.113.7") for i in range(BURST + 1)]
        other = await preview(server, 100, forwarded="198.51.100.9")
        spoofed = await preview(server, 101, forwarded="198.51.100.10, 203.0.113.7")
    finally:
        server.stop()
    assert [status for status, _ in first] == [404] * BURST + [429]
    assert other[0] == 404 and spoofed[0] == 429
