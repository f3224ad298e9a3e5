"""Security headers: the console may load only its own files and talk only to its own service."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The console is static files from this service; images come as data: URLs from the API.
CONSOLE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_OPENAPI_PAGES = ("/docs", "/redoc")  # FastAPI's pages load Swagger UI and ReDoc with inline scripts


class SecurityHeaders:
    """ASGI middleware adding a content security policy (not to the API docs) and no-sniff/no-referrer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope["path"]).startswith(_OPENAPI_PAGES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                if not docs:
                    headers["Content-Security-Policy"] = CONSOLE_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)
