"""The WebSocket transport core (docs/protocol.md, Conventions) over a real socket."""

from __future__ import annotations

import json

import pytest
from pydantic import Field

from clubpengu.realtime.connection import Connection
from clubpengu.transport.messages import Frame
from clubpengu.transport.router import Router
from tests.realtime.support import RecordingTransport
from tests.support import RunningServer, connect


async def test_ping_echoes_a_string_rid(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        reply = await client.request({"type": "ping", "rid": "abc"})

    assert reply["type"] == "pong"
    assert reply["rid"] == "abc"


async def test_ping_echoes_an_integer_rid(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        reply = await client.request({"type": "ping", "rid": 42})

    assert reply["rid"] == 42


async def test_a_reply_without_rid_has_none(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        reply = await client.request({"type": "ping"})

    assert "rid" not in reply


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('"text"', "bad_json"),
        ('{"type": "fly"}', "unknown_type"),
        ('{"type": 7}', "invalid_message"),
        ('{"no": "type"}', "invalid_message"),
        ('{"type": "ping", "rid": {"x": 1}}', "invalid_message"),
        ('{"type": "ping", "rid": "' + "r" * 65 + '"}', "invalid_message"),
        ('{"type": "ping", "rid": true}', "invalid_message"),
    ],
)
async def test_a_bad_frame_gets_its_error_and_the_socket_stays_open(
    server: RunningServer, frame: str, code: str
) -> None:
    async with connect(server.ws_url) as client:
        error = await client.request(frame)  # type: ignore[arg-type]
        still_open = await client.request({"type": "ping", "rid": 1})

    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    assert still_open["type"] == "pong"


async def test_an_error_carries_the_rid_of_the_message(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        error = await client.request({"type": "fly", "rid": "r9"})

    assert (error["code"], error["rid"]) == ("unknown_type", "r9")


async def test_a_binary_frame_is_refused(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        error = await client.request(b'{"type":"ping"}')  # type: ignore[arg-type]

    assert error["code"] == "invalid_message"


async def test_a_frame_over_the_limit_is_too_large(server: RunningServer) -> None:
    big = json.dumps({"type": "ping", "rid": 1, "pad": "x" * (16 * 1024)})

    async with connect(server.ws_url) as client:
        error = await client.request(big)  # type: ignore[arg-type]
        still_open = await client.request({"type": "ping"})

    assert error["code"] == "frame_too_large"
    assert still_open["type"] == "pong"


async def test_a_frame_just_under_the_limit_is_accepted(server: RunningServer) -> None:
    frame = json.dumps({"type": "ping", "pad": ""})
    frame = frame.replace('""', '"' + "x" * (16 * 1024 - len(frame)) + '"')

    async with connect(server.ws_url) as client:
        reply = await client.request(frame)  # type: ignore[arg-type]

    assert reply["type"] == "pong"


# The dispatch table itself, with a route registered for the purpose.


class _Echo(Frame):
    text: str = Field(min_length=1, max_length=5)
    some_count: int


async def _echo(connection: Connection, message: _Echo) -> dict[str, object]:
    return {"type": "echo", "text": message.text, "someCount": message.some_count}


async def _boom(connection: Connection, message: _Echo) -> dict[str, object]:
    raise RuntimeError("database password is hunter2")


def _router() -> tuple[Router, Connection]:
    router = Router(max_frame_bytes=1024)
    router.add("echo", _Echo, _echo, public=True)
    router.add("boom", _Echo, _boom, public=True)
    router.add("private", _Echo, _echo)
    return router, Connection(transport=RecordingTransport(), ip="127.0.0.1")


async def test_fields_are_camel_case_on_the_wire() -> None:
    router, connection = _router()

    reply = await router.dispatch(connection, '{"type":"echo","text":"hi","someCount":2,"x":1}')

    assert reply == {"type": "echo", "text": "hi", "someCount": 2}


async def test_a_field_that_breaks_its_rule_is_an_invalid_message_naming_it() -> None:
    router, connection = _router()

    reply = await router.dispatch(connection, '{"type":"echo","text":"toolong","someCount":2}')

    assert reply is not None
    assert reply["code"] == "invalid_message"
    assert reply["message"].startswith("text:")
    assert "toolong" not in reply["message"]


async def test_an_unexpected_failure_is_internal_without_its_text() -> None:
    router, connection = _router()

    reply = await router.dispatch(connection, '{"type":"boom","text":"a","someCount":1,"rid":3}')

    assert reply == {"type": "error", "code": "internal", "message": "Internal error", "rid": 3}


async def test_a_private_route_needs_sign_in() -> None:
    router, connection = _router()

    reply = await router.dispatch(connection, '{"type":"private","text":"a","someCount":1}')

    assert reply is not None and reply["code"] == "not_authenticated"


def test_a_type_cannot_be_registered_twice() -> None:
    router, _ = _router()

    with pytest.raises(ValueError, match="already registered"):
        router.add("echo", _Echo, _echo)
