"""/metrics as Prometheus sees it: a real server scraped with its token during a real
couples session; the deploy files (scrape config, dashboard) checked against what the server
exports; and a real Prometheus (Debian's) on deploy/prometheus/prometheus.yml scraping both
replicas of the compose topology started natively (tests/cluster.py) during a session spread
over them, answering every query of the dashboard."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import ClientSession, ClientTimeout
from prometheus_client.parser import text_string_to_metric_families

from devtools import processes
from devtools.ports import free_port
from tests.cluster import DOTENV, Topology, start_topology
from tests.conftest import Harness
from tests.outside_tool import Room, plugin_path, served
from tests.webhook_receiver import SECRET as HOOK_SECRET
from tests.webhook_receiver import Receiver

__all__ = ["plugin_path", "served"]  # fixtures of the outside tool

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-" + "t" * 24
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "alongside.json"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
COMPOSE = ROOT / "docker-compose.yml"

Samples = list[tuple[str, dict[str, str], float]]


async def get(url: str, token: str | None = TOKEN, scheme: str = "Bearer") -> tuple[int, str]:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    async with ClientSession() as http, http.get(url + "/metrics", headers=headers) as r:
        return r.status, await r.text()


async def scrape(url: str) -> Samples:
    status, text = await get(url)
    assert status == 200, text
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text)
            for s in family.samples]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for n, ls, v in samples if n == name and labels.items() <= ls.items())


def exported_names(text: str) -> set[str]:
    """Every sample name the exposition can carry, from its ``# TYPE`` lines (a labelled
    family with no child yet has no sample but still a TYPE)."""
    names: set[str] = set()
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        if kind == "counter":
            family = family.removesuffix("_total")
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"],
                    "summary": ["_count", "_sum", ""]}.get(kind, [""])
        names.update(family + s for s in suffixes)
    return names


async def test_series_move_through_a_couples_session(start_server: Any) -> None:
    receiver = Receiver(mode="up")
    await receiver.start()
    try:
        h: Harness = await start_server(metrics_token=TOKEN, node_id="node-a",
                                        webhook_url=receiver.url, webhook_secret=HOOK_SECRET)
        before = await scrape(h.url)
        assert value(before, "alongside_joins_total") == 0
        assert value(before, "alongside_lobby_wait_seconds_count") == 0
        assert {ls.get("node") for _, ls, _ in before} == {"node-a"}

        clinician = await h.peer("clinician", name="Dr Quill")
        client = await h.peer("client", name="Sam Ovid")
        partner = await h.peer("partner", name="Kit Vale")
        refused = await h.peer("client", sub="client-2", name="Lee Moss", join=False)
        assert (await refused.call("join", {}))["error"]["code"] == "E_ROOM_FULL"
        waiting = await scrape(h.url)
        assert value(waiting, "alongside_joins_total", role="client", outcome="ok") == 1
        assert value(waiting, "alongside_joins_total", role="partner", outcome="ok") == 1
        assert value(waiting, "alongside_joins_total", outcome="E_ROOM_FULL") == 1
        assert value(waiting, "alongside_participants", state="lobby", presence="online") == 2
        assert value(waiting, "alongside_participants", role="clinician",
                     state="admitted") == 1
        assert value(waiting, "alongside_rooms", kind="couples", status="live") == 1

        for who in ("client-1", "partner-1"):
            assert (await clinician.call("admit", {"participant": who}))["ok"]
        await client.wait_for("admitted")
        await partner.wait_for("admitted")
        again = await clinician.call("admit", {"participant": "client-1"})
        assert again["error"]["code"] == "E_INVALID_STATE"
        assert (await client.call("offer", {"to": "clinician-1", "sdp": "v=0\r\n"}))["ok"]
        for _ in range(3):
            assert (await clinician.call("candidate", {"to": "client-1", "candidate": None}))["ok"]
        await receiver.wait_accepted(1)  # session.started, at least

        after = await scrape(h.url)
        assert value(after, "alongside_knocks_total", outcome="admitted") == 2
        assert value(after, "alongside_knocks_total", outcome="E_INVALID_STATE") == 1
        assert value(after, "alongside_lobby_wait_seconds_count") == 2
        assert value(after, "alongside_lobby_wait_seconds_bucket", le="+Inf") == 2
        assert value(after, "alongside_signal_relay_seconds_count", event="offer") == 1
        assert value(after, "alongside_signal_relay_seconds_count", event="candidate") == 3
        assert 0 < value(after, "alongside_signal_relay_seconds_sum") < 1
        assert value(after, "alongside_participants", state="admitted") == 3
        assert value(after, "alongside_participants", state="lobby") == 0
        assert value(after, "alongside_store_operation_seconds_count", backend="sqlite",
                     operation="transact") > value(before, "alongside_store_operation_seconds_count",
                                                   backend="sqlite", operation="transact")
        assert value(after, "alongside_webhook_deliveries_total", outcome="delivered") >= 1
        # The loop probe samples every 0.25 s; a quick session may end before its first sample.
        for _ in range(30):
            if value(after, "alongside_event_loop_lag_seconds_count") >= 1:
                break
            await asyncio.sleep(0.1)
            after = await scrape(h.url)
        assert value(after, "alongside_event_loop_lag_seconds_count") >= 1
        assert value(after, "process_cpu_seconds_total") > 0

        # Content-free: no id, name or room of the session appears anywhere in a scrape.
        _, text = await get(h.url)
        for secret in ("client-1", "client-2", "partner-1", "clinician-1", "prog-1",
                       "room-couples", "Quill", "Ovid", "Vale", "Moss", "v=0"):
            assert secret not in text
    finally:
        await receiver.stop()


async def test_store_errors_and_partner_steps_are_counted(start_server: Any) -> None:
    h: Harness = await start_server(metrics_token=TOKEN)
    clinician = await h.peer("clinician")
    await h.store.close()  # the store goes away under a write
    locked = await clinician.call("lock", {"locked": True})
    assert locked["error"]["code"] == "E_UNAVAILABLE"
    await h.store.open()
    samples = await scrape(h.url)
    assert value(samples, "alongside_store_errors_total", backend="sqlite",
                 operation="transact") == 1

    async with ClientSession() as http:
        for role, step, status in (("client", "pause", 200), ("clinician", "approve", 409)):
            token = h.token(role)
            async with http.post(f"{h.url}/api/programs/prog-1/partner/steps",
                                 json={"step": step, "note": "ok"},
                                 headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == status, await r.text()
    samples = await scrape(h.url)
    assert value(samples, "alongside_partner_transitions_total", step="pause",
                 outcome="ok") == 1
    assert value(samples, "alongside_partner_transitions_total", step="approve",
                 outcome="E_TRANSITION_NOT_ALLOWED") == 1


async def test_metrics_need_the_token_and_are_off_without_one(start_server: Any) -> None:
    h: Harness = await start_server(metrics_token=TOKEN)
    assert (await get(h.url, token=None))[0] == 401
    assert (await get(h.url, token="metrics-token-" + "x" * 24))[0] == 401
    assert (await get(h.url, scheme="Basic"))[0] == 401
    async with ClientSession() as http, http.get(h.url + "/metrics") as r:
        assert r.headers["WWW-Authenticate"] == "Bearer"
    status, text = await get(h.url)
    assert status == 200 and "# TYPE alongside_joins_total counter" in text

    off: Harness = await start_server()
    assert (await get(off.url))[0] == 404


async def test_a_failed_tool_is_counted(served: Any) -> None:
    server = served(ALONGSIDE_METRICS_TOKEN=TOKEN)
    room = Room(server.url)
    try:
        clinician, client = await room.couple()
        assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
        boom = await client.call("tool:act", {"tool": "tally", "action": "boom"})
        assert boom["error"]["code"] == "E_TOOL_FAILED"
        await clinician.wait_for("tool", lambda d: d["tools"]
                                 and d["tools"][0]["status"] == "failed")
        samples = await scrape(server.url)
        assert value(samples, "alongside_tool_failures_total", tool="tally",
                     code="E_TOOL_FAILED") == 1
        assert value(samples, "alongside_joins_total", outcome="ok") == 2
    finally:
        await room.close()


async def test_the_dashboard_queries_only_series_the_server_exports(start_server: Any) -> None:
    h: Harness = await start_server(metrics_token=TOKEN)
    status, text = await get(h.url)
    assert status == 200
    exported = exported_names(text)
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    used: set[str] = set()
    for expr in exprs:
        # A metric name is an identifier not followed by "(" (a function) and not a
        # label name inside by (...) or {...}.
        bare = re.sub(r"\{[^}]*\}|by \([^)]*\)|\[[^\]]*\]", "", expr)
        used.update(n for n in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\()", bare)
                    if n.startswith(("alongside_", "process_")))
    assert used and used <= exported, sorted(used - exported)
    # Each panel the issue asks for is on the board.
    for series in ("alongside_rooms", "alongside_participants", "alongside_joins_total",
                   "alongside_lobby_wait_seconds_bucket", "alongside_signal_relay_seconds_bucket",
                   "alongside_store_errors_total", "alongside_webhook_deliveries_total",
                   "alongside_event_loop_lag_seconds_bucket"):
        assert series in used, series
    # Every panel reads the provisioned datasource.
    datasources = yaml.safe_load((ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
                                  / "prometheus.yml").read_text())["datasources"]
    uids = {d["uid"] for d in datasources}
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} <= uids


def test_compose_prometheus_scrapes_every_app_replica() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    apps = sorted(n for n, s in services.items() if "ALONGSIDE_NODE_ID" in
                  (s.get("environment") or {}))
    assert apps == ["app1", "app2"]
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = [j for j in config["scrape_configs"] if j.get("metrics_path") == "/metrics"]
    assert len(jobs) == 1
    targets = {t for c in jobs[0]["static_configs"] for t in c["targets"]}
    port = services["app1"]["environment"]["ALONGSIDE_PORT"]
    assert targets == {f"{app}:{port}" for app in apps}
    # The token the replicas expect is the one Prometheus sends (one .env value).
    token_file = jobs[0]["authorization"]["credentials_file"]
    secret = Path(token_file).name
    assert secret in services["prometheus"]["secrets"]
    assert compose["secrets"][secret]["environment"] == "METRICS_TOKEN"
    for app in apps:
        assert services[app]["environment"]["ALONGSIDE_METRICS_TOKEN"].startswith(
            "${METRICS_TOKEN")
    # The config file Prometheus runs is this one; Grafana is provisioned from deploy/.
    mounts = services["prometheus"]["volumes"]
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    grafana = " ".join(services["grafana"]["volumes"])
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning" in grafana
    assert "./deploy/grafana/dashboards:" in grafana
    # Images pinned by version, never a moving tag.
    for name in ("prometheus", "grafana"):
        image = services[name]["image"]
        tag = image.rpartition(":")[2]
        assert ":" in image and re.search(r"\d+\.\d+\.\d+", tag), image


async def test_a_blocked_event_loop_shows_as_lag(start_server: Any) -> None:
    h: Harness = await start_server(metrics_token=TOKEN)
    await asyncio.sleep(0.3)  # the watcher's first probe
    # Blocks the loop the server runs on (this test shares it): the probe asleep now wakes
    # at least 0.6 - 0.25 s late.
    time.sleep(0.6)  # noqa: ASYNC251 (the point: a blocked loop)
    await asyncio.sleep(0.3)
    samples = await scrape(h.url)
    over = [v for n, ls, v in samples
            if n == "alongside_event_loop_lag_seconds_bucket" and ls["le"] == "0.25"]
    total = value(samples, "alongside_event_loop_lag_seconds_count")
    assert total > over[0], "the blocked probe landed in no bucket above 0.25 s"


# -- a real Prometheus on the compose topology -------------------------------------------------
@pytest.fixture
async def topology(tmp_path: Path) -> AsyncIterator[Topology]:
    started = await asyncio.to_thread(start_topology, tmp_path / "cluster")
    try:
        yield started
    finally:
        await asyncio.to_thread(started.stop)


def native_config(topology: Topology, directory: Path) -> Path:
    """deploy/prometheus/prometheus.yml with only what differs off Docker changed: each
    target's address (service name -> its native port), the token file's path (the compose
    secret -> a file holding the same .env value) and a 1 s interval."""
    config = yaml.safe_load(PROMETHEUS.read_text())
    [job] = config["scrape_configs"]
    token = directory / "metrics_token"
    token.write_text(DOTENV["METRICS_TOKEN"])
    job["authorization"]["credentials_file"] = str(token)
    for group in job["static_configs"]:
        group["targets"] = [f"127.0.0.1:{topology.nodes[t.split(':')[0]].port}"
                            for t in group["targets"]]
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


async def test_prometheus_scrapes_both_replicas_during_a_session(topology: Topology,
                                                                  tmp_path: Path) -> None:
    from tests.cluster import Cluster  # the people and REST helpers of the cluster tests

    config = native_config(topology, tmp_path)
    checked = await asyncio.to_thread(subprocess.run, ["promtool", "check", "config",
                                                       str(config)],
                                      capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        prometheus = processes.start(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path}/tsdb",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api/v1/query"
    async with ClientSession(timeout=ClientTimeout(total=10)) as http:
        c = Cluster(topology, http)
        await c.store.open()

        async def query(expr: str) -> list[dict[str, Any]]:
            async with http.get(api, params={"query": expr}) as r:
                body = await r.json()
            assert body["status"] == "success", (expr, body)
            return list(body["data"]["result"])

        async def until(what: str, expr: str, check: Any, timeout: float = 30) -> Any:
            deadline = time.monotonic() + timeout
            result: Any = None
            while time.monotonic() < deadline:
                try:
                    result = {tuple(sorted(r["metric"].items())): float(r["value"][1])
                              for r in await query(expr)}
                except OSError:  # Prometheus still starting
                    result = None
                if result is not None and check(result):
                    return result
                await asyncio.sleep(0.5)
            raise AssertionError(f"{what}: {expr} gave {result}")

        try:
            up = await until("both replicas up", 'up{job="alongside"}',
                             lambda r: len(r) == 2 and all(v == 1 for v in r.values()))
            assert len(up) == 2
            t = await c.couples()
            clinician = await c.person(t["clinician"], "app1")
            client = await c.person(t["client"], "app2")
            partner = await c.person(t["partner"], "app2")
            await c.admit(clinician, client, "cl-1")
            await c.admit(clinician, partner, "pa-1")
            assert (await clinician.call("offer", {"to": "pa-1", "sdp": "v=0\r\n"}))["ok"]

            people = await until(
                "the session seen on both nodes",
                'sum by (node) (alongside_participants{state="admitted"})',
                lambda r: r == {(("node", "app1"),): 1.0, (("node", "app2"),): 2.0})
            assert people
            rooms = await until("one live couples room, counted once",
                                'sum by (kind, status) (alongside_rooms)',
                                lambda r: sum(r.values()) == 1)
            assert rooms == {(("kind", "couples"), ("status", "live")): 1.0}
            await until("two knocks answered", 'sum(alongside_knocks_total{outcome="admitted"})',
                        lambda r: list(r.values()) == [2.0])
            await until("the relayed offer, on app1", 'sum by (node) '
                        '(alongside_signal_relay_seconds_count{event="offer"})',
                        lambda r: r == {(("node", "app1"),): 1.0, (("node", "app2"),): 0.0})
            await until("both replicas on Redis", 'count by (backend) '
                        '(alongside_store_operation_seconds_count{operation="transact"} > 0)',
                        lambda r: r == {(("backend", "redis"),): 2.0})
            # Every query of the dashboard is PromQL Prometheus runs.
            dashboard = json.loads(DASHBOARD.read_text())
            for panel in dashboard["panels"]:
                for target in panel["targets"]:
                    await query(target["expr"])
        finally:
            await c.close()
            processes.stop(prometheus)
