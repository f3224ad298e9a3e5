"""``dispatch:`` where alerts are sent (signed webhooks) and how delivery is retried."""

from __future__ import annotations

import os

from pydantic import Field, field_validator

from cluster.config.base import Section, duplicates
from serve.errors import ConfigError


class EndpointConfig(Section):
    """One dispatch system endpoint."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    url: str
    secret_env: str = Field(
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Environment variable holding the HMAC secret (never in the file).",
    )
    timeout_s: float = Field(5, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return url

    def secret(self) -> bytes:
        """The signing secret, read from the environment variable the config names."""
        value = os.environ.get(self.secret_env, "")
        if len(value) < 16:
            raise ConfigError(
                f"dispatch endpoint '{self.name}': environment variable {self.secret_env} must hold the "
                "webhook secret (at least 16 characters)"
            )
        return value.encode()


class DispatchConfig(Section):
    """Alert delivery."""

    endpoints: list[EndpointConfig] = Field(default_factory=list)
    retry_initial_s: float = Field(1, gt=0)
    retry_max_s: float = Field(60, gt=0)
    evidence_jpeg_quality: int = Field(85, ge=30, le=100)

    @field_validator("endpoints")
    @classmethod
    def _unique_names(cls, endpoints: list[EndpointConfig]) -> list[EndpointConfig]:
        repeated = duplicates([e.name for e in endpoints])
        if repeated:
            raise ValueError(f"endpoint names must be unique: {repeated}")
        return endpoints
