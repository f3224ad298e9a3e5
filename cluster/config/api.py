"""``api:`` the operator service: where it listens, upload limits, how failed sign-ins are slowed."""

from __future__ import annotations

from pydantic import Field

from cluster.config.base import Section


class ApiConfig(Section):
    """The operator REST API and console (``safecity serve``), on the state node."""

    with_run: bool = Field(
        True,
        description="Whether `safecity run` (and `python -m cluster.job`) deploys the API beside the "
        "pipeline; `safecity serve` runs it alone either way.",
    )
    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address the HTTP service listens on; 0.0.0.0 exposes it to the network (put TLS in "
        "front of it).",
    )
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP service.")
    max_upload_mb: float = Field(
        10.0, gt=0, le=200, description="Largest request body accepted (an enrolment with its photos), MB."
    )
    auth_max_failures: int = Field(
        5,
        ge=1,
        description="Failed sign-ins (no or unknown key) from one address within auth_failure_window_s "
        "after which that address is answered 429 until the window has passed.",
    )
    auth_failure_window_s: float = Field(
        60.0, gt=0, description="Window over which failed sign-ins from one address are counted, seconds."
    )
    stream_poll_s: float = Field(
        1.0, gt=0, le=30, description="How often the live alert stream looks for new alerts, seconds."
    )
    num_cpus: float = Field(
        0.25, gt=0, description="CPUs Ray reserves for the API replica (enrolment runs the face models)."
    )
