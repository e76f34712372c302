"""Which address a request came from, for per-address limits.

Behind a proxy (deploy/nginx.conf) every request connects from the proxy, so all
clients would share one limit. ``X-Forwarded-For`` names the client, but anyone can
send that header: it is believed only from ``ALONGSIDE_TRUSTED_PROXIES``, and then
read from the right (each proxy appends what connected to it; entries further left
came from the client and may be made up).
"""

from __future__ import annotations

import functools
import ipaddress

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in trusted)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: web.Request, trusted: tuple[str, ...]) -> str:
    """The connecting address; or, when that is a trusted proxy, the right-most address
    in ``X-Forwarded-For`` that is not a trusted proxy itself.

    Note: the result keys limits only; callers hash it before it is stored.
    """
    address = request.remote or "unknown"
    networks = _networks(trusted)
    if not networks or not _is_trusted(address, networks):
        return address
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        address = hop
        if not _is_trusted(hop, networks):
            break
    return address
