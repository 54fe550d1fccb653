"""Security headers on every HTTP response (WebSockets pass through untouched).

The pages (`/play`, `/console`) set their own Content-Security-Policy: scripts, styles,
images and connections from this origin only, no inline script, and no framing. Every
other response (JSON, static files) gets a policy that allows nothing, so a JSON answer
opened in a tab cannot run anything either. Tokens travel only as bearer headers; there
are no cookies, so there is no CSRF surface to protect.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DEFAULT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_BASELINE = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# Static files revalidate (ETag) on every load, so a new release is picked up at once.
_STATIC_PREFIX = "/static/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(_STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_headers(list(message.get("headers", [])), static)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _with_headers(headers: list[tuple[bytes, bytes]], static: bool) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    extra = [(name, value) for name, value in _BASELINE if name not in present]
    if b"content-security-policy" not in present:
        extra.append((b"content-security-policy", DEFAULT_CSP.encode()))
    if static and b"cache-control" not in present:
        extra.append((b"cache-control", b"no-cache"))
    return headers + extra
