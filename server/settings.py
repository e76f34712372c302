"""Settings from environment variables, with the defaults documented in README.md."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _dev_secret(var_dir: Path, name: str = "jwt-secret") -> str:
    """A per-checkout secret for the embedded default, so `make run` needs no set-up.

    Note: a cluster's nodes each have their own ``var`` directory, so a secret that
    every node must share comes from the environment there, never from here.
    """
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    allowed_origins: tuple[str, ...] = ()
    store: str = "sqlite:///var/alongside.db"
    jwt_secret: str = ""
    jwt_public_key: str = ""
    jwt_issuer: str = "alongside"
    jwt_audience: str = "alongside"
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_ttl: int = 4 * 3600
    grace_seconds: float = 30.0
    max_message_bytes: int = 64 * 1024
    rate_per_second: float = 20.0
    rate_burst: int = 60
    ping_interval: float = 10.0
    ping_timeout: float = 10.0
    log_level: str = "INFO"
    frame_ancestors: tuple[str, ...] = ()
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_attempts: int = 6
    webhook_backoff: float = 0.5
    invite_ttl_hours: float = 72.0
    node_id: str = ""
    sweep_seconds: float = 2.0
    drain_seconds: float = 10.0
    # Other replicas' base URLs (their /readyz tells a partition from a Redis outage) and how
    # long this one may be cut off from Redis while a peer is fine before it hands its people
    # over (server/step_aside.py). No peers: never step aside (one process, or a Redis outage).
    peers: tuple[str, ...] = ()
    step_aside_seconds: float = 10.0
    precall_limit: int = 4
    precall_seconds: float = 30.0
    partner_token_ttl: int = 4 * 3600
    # The key of log pseudonyms and of the hashed addresses rate limits are kept under
    # (server/logs.py). Every node of a cluster needs the same one. Empty: a random key
    # per process (pseudonyms correlate within one process only).
    log_key: str = ""
    # Invite look-ups (preview, respond) per client address, shared by every node.
    invite_rate_per_minute: float = 60.0
    invite_rate_burst: int = 20
    # Proxies whose X-Forwarded-For names the client (addresses or CIDR ranges); from
    # anyone else the header is ignored and the connecting address is the client's.
    trusted_proxies: tuple[str, ...] = ()
    content_dir: Path = field(default_factory=lambda: WEB_DIR / "content")
    web_dir: Path = field(default_factory=lambda: WEB_DIR)
    # In cluster mode, how long a replica holds a program's webhook queue before another may
    # deliver it (after a crash): longer than one delivery attempt (server/webhooks.py).
    webhook_lease: float = 30.0
    # The bearer token a Prometheus scrape of /metrics must send; empty: /metrics is off (404).
    metrics_token: str = ""
    # Group rooms' media server (server/sfu/): Janus WebSocket URLs on loopback, its
    # api_secret and the VideoRoom admin_key. No URL: group rooms answer E_SFU_UNAVAILABLE.
    janus_urls: tuple[str, ...] = ()
    janus_api_secret: str = ""
    janus_admin_key: str = ""

    def __post_init__(self) -> None:
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")
        if not self.allowed_origins:
            origins = {self.public_url.rstrip("/"), f"http://127.0.0.1:{self.port}",
                       f"http://localhost:{self.port}"}
            object.__setattr__(self, "allowed_origins", tuple(sorted(origins)))
        if "*" in self.allowed_origins:
            raise ValueError("ALONGSIDE_ALLOWED_ORIGINS may not contain '*'")
        if not self.jwt_secret and not self.jwt_public_key:
            raise ValueError("set ALONGSIDE_JWT_SECRET or ALONGSIDE_JWT_PUBLIC_KEY")
        if bool(self.webhook_url) != bool(self.webhook_secret):
            raise ValueError("ALONGSIDE_WEBHOOK_URL and ALONGSIDE_WEBHOOK_SECRET go together")
        if bool(self.turn_urls) != bool(self.turn_secret):
            raise ValueError("ALONGSIDE_TURN_URLS and ALONGSIDE_TURN_SECRET go together")
        if self.webhook_attempts < 1 or self.webhook_backoff < 0 or self.webhook_lease < 1:
            raise ValueError("ALONGSIDE_WEBHOOK_ATTEMPTS must be at least 1, "
                             "ALONGSIDE_WEBHOOK_BACKOFF at least 0, ALONGSIDE_WEBHOOK_LEASE 1 s")
        if self.invite_rate_per_minute <= 0 or self.invite_rate_burst < 1:
            raise ValueError("ALONGSIDE_INVITE_RATE_PER_MINUTE must be above 0 and "
                             "ALONGSIDE_INVITE_RATE_BURST at least 1")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ValueError("ALONGSIDE_METRICS_TOKEN must be at least 16 characters")
        if bool(self.janus_urls) != bool(self.janus_api_secret):
            raise ValueError("ALONGSIDE_JANUS_URLS and ALONGSIDE_JANUS_API_SECRET go together")
        for net in self.trusted_proxies:
            ipaddress.ip_network(net, strict=False)  # ValueError names the bad entry

    @property
    def cluster(self) -> bool:
        """Several app processes share one Redis (the store's)."""
        return self.store.startswith(("redis://", "rediss://"))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        var_dir = Path(e.get("ALONGSIDE_VAR_DIR", "var"))
        key = e.get("ALONGSIDE_JWT_PUBLIC_KEY", "")
        if key and not key.lstrip().startswith("-----") and Path(key).exists():
            key = Path(key).read_text()
        secret = e.get("ALONGSIDE_JWT_SECRET", "")
        if not secret and not key:
            secret = _dev_secret(var_dir)
        return cls(
            host=e.get("ALONGSIDE_HOST", "127.0.0.1"),
            port=int(e.get("ALONGSIDE_PORT", "8080")),
            public_url=e.get("ALONGSIDE_PUBLIC_URL", ""),
            allowed_origins=_csv(e.get("ALONGSIDE_ALLOWED_ORIGINS", "")),
            store=e.get("ALONGSIDE_STORE", f"sqlite:///{var_dir}/alongside.db"),
            jwt_secret=secret,
            jwt_public_key=key,
            jwt_issuer=e.get("ALONGSIDE_JWT_ISSUER", "alongside"),
            jwt_audience=e.get("ALONGSIDE_JWT_AUDIENCE", "alongside"),
            turn_urls=_csv(e.get("ALONGSIDE_TURN_URLS", "")),
            turn_secret=e.get("ALONGSIDE_TURN_SECRET", ""),
            turn_ttl=int(e.get("ALONGSIDE_TURN_TTL", str(4 * 3600))),
            grace_seconds=float(e.get("ALONGSIDE_GRACE_SECONDS", "30")),
            max_message_bytes=int(e.get("ALONGSIDE_MAX_MESSAGE_BYTES", str(64 * 1024))),
            rate_per_second=float(e.get("ALONGSIDE_RATE_PER_SECOND", "20")),
            rate_burst=int(e.get("ALONGSIDE_RATE_BURST", "60")),
            ping_interval=float(e.get("ALONGSIDE_PING_INTERVAL", "10")),
            ping_timeout=float(e.get("ALONGSIDE_PING_TIMEOUT", "10")),
            log_level=e.get("ALONGSIDE_LOG_LEVEL", "INFO"),
            frame_ancestors=_csv(e.get("ALONGSIDE_FRAME_ANCESTORS", "")),
            webhook_url=e.get("ALONGSIDE_WEBHOOK_URL", ""),
            webhook_secret=e.get("ALONGSIDE_WEBHOOK_SECRET", ""),
            invite_ttl_hours=float(e.get("ALONGSIDE_INVITE_TTL_HOURS", "72")),
            precall_limit=int(e.get("ALONGSIDE_PRECALL_LIMIT", "4")),
            node_id=e.get("ALONGSIDE_NODE_ID", ""),
            drain_seconds=float(e.get("ALONGSIDE_DRAIN_SECONDS", "10")),
            peers=_csv(e.get("ALONGSIDE_PEERS", "")),
            step_aside_seconds=float(e.get("ALONGSIDE_STEP_ASIDE_SECONDS", "10")),
            sweep_seconds=float(e.get("ALONGSIDE_SWEEP_SECONDS", "2")),
            precall_seconds=float(e.get("ALONGSIDE_PRECALL_SECONDS", "30")),
            log_key=e.get("ALONGSIDE_LOG_KEY", "") or _dev_secret(var_dir, "log-key"),
            invite_rate_per_minute=float(e.get("ALONGSIDE_INVITE_RATE_PER_MINUTE", "60")),
            invite_rate_burst=int(e.get("ALONGSIDE_INVITE_RATE_BURST", "20")),
            trusted_proxies=_csv(e.get("ALONGSIDE_TRUSTED_PROXIES", "")),
            content_dir=Path(e["ALONGSIDE_CONTENT_DIR"]) if e.get("ALONGSIDE_CONTENT_DIR")
            else WEB_DIR / "content",
            web_dir=Path(e["ALONGSIDE_WEB_DIR"]) if e.get("ALONGSIDE_WEB_DIR") else WEB_DIR,
            webhook_attempts=int(e.get("ALONGSIDE_WEBHOOK_ATTEMPTS", "6")),
            webhook_backoff=float(e.get("ALONGSIDE_WEBHOOK_BACKOFF", "0.5")),
            webhook_lease=float(e.get("ALONGSIDE_WEBHOOK_LEASE", "30")),
            metrics_token=e.get("ALONGSIDE_METRICS_TOKEN", ""),
            janus_urls=_csv(e.get("ALONGSIDE_JANUS_URLS", "") or e.get("ALONGSIDE_JANUS_URL", "")),
            janus_api_secret=e.get("ALONGSIDE_JANUS_API_SECRET", ""),
            janus_admin_key=e.get("ALONGSIDE_JANUS_ADMIN_KEY", ""),
        )
