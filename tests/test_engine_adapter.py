"""Each python-socketio / python-engineio internal that server/realtime/engine_adapter.py
relies on still exists, with the shape it expects, on the installed versions.

An upgrade that renames or reshapes one fails here, loudly, instead of in production.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import engineio
import pytest
import socketio
from engineio.async_socket import AsyncSocket
from socketio.async_pubsub_manager import AsyncPubSubManager

from server.realtime import engine_adapter
from server.realtime.codec import OrjsonCodec
from server.realtime.direct import DirectManager


def resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def params(fn: Any) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p != "self"]


@pytest.fixture
def sio() -> socketio.AsyncServer:
    return socketio.AsyncServer(async_mode="aiohttp", client_manager=DirectManager())


def test_every_private_use_is_checked_below() -> None:
    """A use added to the adapter needs a check here too (this list is the test's)."""
    checked = {
        ("socketio.AsyncServer", "manager_initialized"),
        ("socketio.AsyncServer", "packet_class"),
        ("socketio.AsyncServer", "eio"),
        ("socketio.AsyncManager", "server"),
        ("socketio.AsyncManager", "get_participants"),
        ("socketio.AsyncManager", "eio_sid_from_sid"),
        ("engineio.AsyncServer", "sockets"),
        ("engineio.AsyncServer", "send_packet"),
        ("engineio.async_socket.AsyncSocket", "queue"),
        ("engineio.async_socket.AsyncSocket", "close"),
        ("socketio.async_pubsub_manager.AsyncPubSubManager", "_publish"),
        ("socketio.async_pubsub_manager.AsyncPubSubManager", "_listen"),
        ("socketio.async_pubsub_manager.AsyncPubSubManager", "_handle_emit"),
        ("socketio.async_pubsub_manager.AsyncPubSubManager", "host_id"),
        ("socketio.async_pubsub_manager.AsyncPubSubManager", "json"),
    }
    assert set(engine_adapter.PRIVATE_USES) == checked
    for owner, _ in checked:
        assert inspect.isclass(resolve(owner))


def test_the_server_marks_its_manager_initialized(sio: socketio.AsyncServer) -> None:
    assert sio.manager_initialized is False  # set by the library, read at the first connect
    # The library initialises its manager at the first engine.io connection unless marked.
    source = inspect.getsource(socketio.AsyncServer._handle_eio_connect)
    assert "if not self.manager_initialized:" in source
    assert "self.manager_initialized = True" in source


def test_the_server_encodes_with_its_packet_class_and_owns_an_engine(
        sio: socketio.AsyncServer) -> None:
    pkt = sio.packet_class(socketio.packet.EVENT, namespace="/", data=["e", 1])
    assert isinstance(pkt.encode(), str | list)
    assert isinstance(sio.eio, engineio.AsyncServer)
    assert sio.eio.sockets == {}
    assert params(engineio.AsyncServer.send_packet) == ["sid", "pkt"]
    assert inspect.iscoroutinefunction(engineio.AsyncServer.send_packet)


async def test_the_manager_knows_its_server_and_maps_session_ids(
        sio: socketio.AsyncServer) -> None:
    manager = sio.manager
    assert manager.server is sio
    assert params(socketio.AsyncManager.get_participants) == ["namespace", "room"]
    assert params(socketio.AsyncManager.eio_sid_from_sid) == ["sid", "namespace"]
    manager.initialize()
    sid = await manager.connect("eio-1", "/")  # how the library records a session
    assert manager.eio_sid_from_sid(sid, "/") == "eio-1"
    assert list(manager.get_participants("/", sid)) == [(sid, "eio-1")]


def test_an_engine_socket_has_a_queue_and_an_aborting_close() -> None:
    assert "queue" in inspect.getsource(engineio.base_socket.BaseSocket.__init__)
    assert params(AsyncSocket.close)[:2] == ["wait", "abort"]
    assert inspect.iscoroutinefunction(AsyncSocket.close)


def test_the_pubsub_manager_has_the_hooks_and_message_handling_the_adapter_uses() -> None:
    assert params(AsyncPubSubManager._publish) == ["data"]
    assert inspect.isasyncgenfunction(AsyncPubSubManager._listen) or \
        inspect.iscoroutinefunction(AsyncPubSubManager._listen)
    assert params(AsyncPubSubManager._handle_emit) == ["message"]
    # The listener loop hands each message to _handle_emit, from _listen.
    thread = inspect.getsource(AsyncPubSubManager._thread)
    assert "self._listen()" in thread and "self._handle_emit(data)" in thread
    # The message format emit_message builds is the one _handle_emit reads.
    handle = inspect.getsource(AsyncPubSubManager._handle_emit)
    for key in ("callback", "host_id", "data", "binary", "event", "namespace", "room",
                "skip_sid"):
        assert f"'{key}'" in handle, key
    manager = AsyncPubSubManager(channel="c", json=OrjsonCodec)
    assert isinstance(manager.host_id, str) and manager.json is OrjsonCodec
