"""``dispatch:`` where alerts are sent (signed webhooks) and how delivery is retried."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from cluster.config.base import Section, duplicates

if TYPE_CHECKING:  # the webhook client imports httpx: loaded when the dispatcher is given endpoints
    from actors.dispatch.secrets import EndpointSource


class EndpointConfig(Section):
    """One dispatch system endpoint."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Stable name, used in delivery receipts."
    )
    url: str = Field(description="http(s) URL the signed alerts are POSTed to.")
    secret_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Environment variable holding the HMAC secret, read on the state node.",
    )
    secret_file: Path | None = Field(
        None,
        description="File holding the HMAC secret, read on the state node; refused if others may read it.",
    )
    timeout_s: float = Field(5, gt=0, le=60, description="Longest wait for one POST to answer.")

    @model_validator(mode="after")
    def _one_secret_source(self) -> EndpointConfig:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("give exactly one of secret_env and secret_file")
        return self

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return url

    def source(self) -> EndpointSource:
        """What the dispatcher is given: the endpoint and where its secret is, never the secret."""
        from actors.dispatch.secrets import EndpointSource

        return EndpointSource(self.name, self.url, self.timeout_s, self.secret_env, self.secret_file)

    def secret(self) -> bytes:
        """The signing secret, read where this runs (the dispatcher reads it on the state node)."""
        return self.source().secret()


class DispatchConfig(Section):
    """Alert delivery."""

    endpoints: list[EndpointConfig] = Field(
        default_factory=list,
        description="Dispatch systems each alert is sent to (none: alerts go to the alert log only).",
    )
    retry_initial_s: float = Field(1, gt=0, description="First wait before a failed delivery is retried.")
    retry_max_s: float = Field(
        60, gt=0, description="Longest wait between retries (the wait doubles, with jitter)."
    )
    evidence_jpeg_quality: int = Field(
        85, ge=30, le=100, description="JPEG quality of the evidence crop sent with an alert."
    )

    @field_validator("endpoints")
    @classmethod
    def _unique_names(cls, endpoints: list[EndpointConfig]) -> list[EndpointConfig]:
        repeated = duplicates([e.name for e in endpoints])
        if repeated:
            raise ValueError(f"endpoint names must be unique: {repeated}")
        return endpoints
