"""The operator API as a FastAPI application: a plain function of its services, testable without Ray."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from actors.hotlist import HotlistEntryError
from actors.reviews import AlreadyReviewedError, ReviewInputError
from actors.watchlist import WatchlistInputError
from cluster import __version__
from cluster.api.headers import SecurityHeaders
from cluster.api.keys import KeyInputError
from cluster.api.limits import BodyLimit
from cluster.api.routes import alerts, audit, cameras, hotlist, keys, search, watchlist
from cluster.api.routes.watchlist import PhotoTypeError
from cluster.api.schemas import Caller, ErrorReply, Health
from cluster.api.security import AnyRole
from cluster.api.services import ApiServices
from cluster.camera_store import CameraExistsError, CameraInputError
from serve.errors import EnrolmentError, NotFoundError, SafeCityError

API_PREFIX = "/api/v1"
CONSOLE_DIR = Path(str(resources.files("cluster.api") / "console"))

# Errors the stores raise on purpose, as HTTP: the message is the CLI's, the field where one is at fault.
_STATUS_OF: list[tuple[type[SafeCityError], int, str | None]] = [
    (NotFoundError, status.HTTP_404_NOT_FOUND, None),
    (AlreadyReviewedError, status.HTTP_409_CONFLICT, None),
    (ReviewInputError, status.HTTP_422_UNPROCESSABLE_CONTENT, "keep"),
    (KeyInputError, status.HTTP_409_CONFLICT, "name"),
    (PhotoTypeError, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "photos"),
    (EnrolmentError, status.HTTP_422_UNPROCESSABLE_CONTENT, "photos"),
    (WatchlistInputError, status.HTTP_422_UNPROCESSABLE_CONTENT, None),
    (HotlistEntryError, status.HTTP_422_UNPROCESSABLE_CONTENT, None),
    (CameraExistsError, status.HTTP_409_CONFLICT, "id"),
    (CameraInputError, status.HTTP_422_UNPROCESSABLE_CONTENT, None),
]


def _error(
    code: int, detail: str, field: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        ErrorReply(detail=detail, field=field).model_dump(),
        status_code=code,
        headers=dict(headers) if headers is not None else None,
    )


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    """422 naming the first field at fault (``body.label: ...``), with every error listed."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            # A store's own check raised ValueError: its message is the CLI's, without pydantic's prefix.
            "msg": str(error.get("msg", "invalid")).removeprefix("Value error, "),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    loc = first["loc"]
    field = loc[-1] if len(loc) > 1 else None
    detail = f"{'.'.join(loc)}: {first['msg']}" if loc else str(first["msg"])
    body = {**ErrorReply(detail=detail, field=field).model_dump(), "errors": errors}
    return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Refusals raised as HTTP errors (401, 403, 429, 404 of an unknown path), in the same body."""
    assert isinstance(exc, StarletteHTTPException)
    return _error(exc.status_code, str(exc.detail), headers=exc.headers)


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    """A store's refusal as 4xx with its message (500 for a store that cannot be read or written)."""
    assert isinstance(exc, SafeCityError)
    for error_type, code, field in _STATUS_OF:
        if isinstance(exc, error_type):
            return _error(code, str(exc), field)
    return _error(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc))


def build_app(services: ApiServices) -> FastAPI:
    """The whole service: ``/api/v1`` (OpenAPI at ``/docs``), ``/healthz`` and the console at ``/``."""
    app = FastAPI(
        title="SafeCity operator API",
        version=__version__,
        description="Watchlist, hotlist, alerts and their review, audit. Every alert is a candidate for "
        "human verification, never a verdict. Authenticate with `Authorization: Bearer <key>`.",
        responses={
            401: {"model": ErrorReply, "description": "No key, or an unknown one."},
            403: {"model": ErrorReply, "description": "The key's role may not do this."},
            429: {"model": ErrorReply, "description": "Too many failed sign-ins from this address."},
        },
    )
    app.state.services = services
    app.add_middleware(BodyLimit, max_bytes=int(services.config.api.max_upload_mb * 1_000_000))
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(SafeCityError, _refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    api = APIRouter(prefix=API_PREFIX)
    for module in (keys, watchlist, hotlist, cameras, alerts, search, audit):
        api.include_router(module.router)

    @api.get("/me", tags=["keys"])
    def me(caller: AnyRole) -> Caller:
        """The calling key's name and role (the console asks this at sign-in)."""
        return Caller(name=caller.name, role=caller.role)

    @api.get("/healthz", tags=["health"])
    def healthz() -> Health:
        """The service answers (no key needed)."""
        return Health(version=__version__)

    app.include_router(api)
    if CONSOLE_DIR.is_dir():
        app.mount("/", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
    return app
