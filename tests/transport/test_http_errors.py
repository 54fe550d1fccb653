"""The one HTTP error path: every domain error a route raises becomes its protocol code, an
HTTP status and the same JSON body, from one exception handler."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clubpengu.errors import DomainError, ErrorCode, InvalidMessage
from clubpengu.transport.http_errors import http_domain_error, parse_body

# The statuses the HTTP routes answered before there was one handler, and 429 for a limit.
EXPECTED_STATUS = {
    "bad_json": 400,
    "unknown_type": 400,
    "invalid_message": 400,
    "not_authenticated": 401,
    "not_in_room": 400,
    "rate_limited": 429,
    "frame_too_large": 413,
    "insufficient_funds": 409,
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "internal": 500,
    "room_full": 400,
    "expired": 400,
    "unavailable": 503,
    "banned": 403,
    "muted": 403,
    "migration_closed": 403,
    "wager_locked": 403,
    "wager_limit": 409,
    "request_timeout": 408,
    "erasure_in_progress": 409,
    "buddy_limit": 409,
    "ignore_limit": 409,
}


def _raising(code: ErrorCode) -> Starlette:
    error_class = type("Refused", (DomainError,), {"code": code})

    async def route(request: Request) -> JSONResponse:
        raise error_class(f"refused with {code}")

    return Starlette(
        routes=[Route("/refuse", route)], exception_handlers={DomainError: http_domain_error}
    )


def test_every_error_code_has_an_expected_status() -> None:
    assert set(EXPECTED_STATUS) == {str(code) for code in ErrorCode}


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
async def test_a_domain_error_raised_by_a_route_is_its_code_status_and_body(
    code: ErrorCode,
) -> None:
    transport = httpx.ASGITransport(app=_raising(code))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/refuse")

    assert response.status_code == EXPECTED_STATUS[str(code)]
    assert response.text == (f'{{"type":"error","code":"{code}","message":"refused with {code}"}}')
    challenge = response.headers.get("www-authenticate")
    assert challenge == ("Bearer" if code == ErrorCode.NOT_AUTHENTICATED else None)


class _Adjustment(BaseModel):
    amount: int
    reason: str


def test_a_body_that_fails_validation_names_the_field_and_the_rule() -> None:
    with pytest.raises(InvalidMessage) as missing:
        parse_body(_Adjustment, {"amount": 3})
    with pytest.raises(InvalidMessage) as wrong:
        parse_body(_Adjustment, {"amount": "three", "reason": "x"})

    assert str(missing.value) == "reason: Field required"
    assert str(wrong.value) == (
        "amount: Input should be a valid integer, unable to parse string as an integer"
    )


def test_a_body_that_is_not_an_object_is_named_body() -> None:
    with pytest.raises(InvalidMessage) as error:
        parse_body(_Adjustment, [1, 2])

    assert str(error.value).startswith("body: ")
    assert "[1, 2]" not in str(error.value)  # the input is never echoed back


def test_a_valid_body_is_the_model() -> None:
    assert parse_body(_Adjustment, {"amount": 3, "reason": "r"}) == _Adjustment(
        amount=3, reason="r"
    )
