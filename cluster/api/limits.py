"""Request body limits, enforced before the body is read."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

_BODY_METHODS = {b"POST", b"PUT", b"PATCH"}


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, 411 for a body of unstated length.

    Refusing on the ``Content-Length`` header means an oversized upload is never spooled to disk;
    requiring the header (every browser, curl and HTTP library sends it for a form or a file) is what
    makes that check complete.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"].encode() not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None and b"transfer-encoding" in headers:
            await _reply(send, 411, "send the body with a Content-Length header")
            return
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await _reply(send, 400, "Content-Length is not a number")
                return
            if size > self.max_bytes:
                await _reply(
                    send, 413, f"request body is {size} bytes; at most {self.max_bytes} are accepted"
                )
                return
        await self.app(scope, receive, send)


async def _reply(send: Send, code: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "field": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
