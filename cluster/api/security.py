"""Who is calling: the bearer key, its role, and the refusals (401, 403, 429), each one audited."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cluster.api.keys import ApiKey
from cluster.api.roles import Role
from cluster.api.services import ApiServices, services_of

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="api-key",
    description="An API key from `safecity keys create --name N --role R`, as `Authorization: Bearer <key>`.",
)
ANONYMOUS = "anonymous"


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _refuse(
    services: ApiServices,
    request: Request,
    code: int,
    detail: str,
    actor: str,
    headers: dict[str, str] | None = None,
) -> HTTPException:
    """Audit a refusal and return the error to raise."""
    services.audit.append(
        actor,
        "api.refused",
        f"{request.method} {request.url.path}",
        {"status": code, "reason": detail, "address": _address(request)},
    )
    return HTTPException(code, detail, headers=headers)


def require(*roles: Role) -> Callable[..., ApiKey]:
    """A dependency that admits keys with one of ``roles`` and returns the caller's key."""
    allowed = frozenset(roles)
    needed = " or ".join(sorted(allowed))

    def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        services: Annotated[ApiServices, Depends(services_of)],
    ) -> ApiKey:
        address = _address(request)
        wait_s = services.throttle.retry_after(address)
        if wait_s is not None:
            raise _refuse(
                services,
                request,
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"too many failed sign-ins from {address}; try again in {math.ceil(wait_s)} s",
                ANONYMOUS,
                {"Retry-After": str(max(math.ceil(wait_s), 1))},
            )
        key = services.keys.authenticate(credentials.credentials) if credentials is not None else None
        if key is None:
            services.throttle.failed(address)
            detail = "no API key: send Authorization: Bearer <key>" if credentials is None else "unknown key"
            raise _refuse(
                services,
                request,
                status.HTTP_401_UNAUTHORIZED,
                detail,
                ANONYMOUS,
                {"WWW-Authenticate": "Bearer"},
            )
        if key.role not in allowed:
            raise _refuse(
                services,
                request,
                status.HTTP_403_FORBIDDEN,
                f"role {key.role} may not do this; it needs {needed}",
                key.actor,
            )
        return key

    return caller


Admin = Annotated[ApiKey, Depends(require(Role.ADMIN))]
Supervisor = Annotated[ApiKey, Depends(require(Role.SUPERVISOR))]
AlertDesk = Annotated[ApiKey, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]
Auditor = Annotated[ApiKey, Depends(require(Role.AUDITOR))]
AnyRole = Annotated[ApiKey, Depends(require(*Role))]
Services = Annotated[ApiServices, Depends(services_of)]
