"""``dispatch:`` where alerts are sent (signed webhooks) and how delivery is retried."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from cluster.config.base import Section, duplicates
from serve.errors import ConfigError


class EndpointConfig(Section):
    """One dispatch system endpoint."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    url: str
    secret_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Environment variable holding the HMAC secret, read on the state node.",
    )
    secret_file: Path | None = Field(
        None,
        description="File holding the HMAC secret, read on the state node; refused if others may read it.",
    )
    timeout_s: float = Field(5, gt=0, le=60)

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

    def secret(self) -> bytes:
        """The signing secret, from the environment variable or file the config names.

        Call it where the dispatcher runs (the state node): the secret never travels through Ray.
        """
        where = self.secret_source()
        if self.secret_file is not None:
            value = _read_private_file(self.secret_file, where)
        else:
            value = os.environ.get(self.secret_env or "", "")
        if len(value) < 16:
            raise ConfigError(f"{where} must hold the webhook secret (at least 16 characters)")
        return value.encode()

    def secret_source(self) -> str:
        """Where the secret is read from, for messages (never the secret itself)."""
        source = (
            f"environment variable {self.secret_env}"
            if self.secret_file is None
            else f"secret file {self.secret_file}"
        )
        return f"dispatch endpoint '{self.name}': {source}"


def _read_private_file(path: Path, where: str) -> str:
    """A secret file's text, refused if it is missing or anyone but its owner may read or write it."""
    path = path.expanduser()
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{where} may be read by others (mode {stat.filemode(mode)}); run: chmod 600 {path}"
            )
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where} cannot be read: {exc}") from exc


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
