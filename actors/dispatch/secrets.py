"""Where an endpoint's webhook secret is read from, and reading it where the dispatcher runs.

The dispatcher is given an :class:`EndpointSource` (names only) and reads the secret itself, on the
state node: the secret never passes through Ray (actor arguments, runtime_env), where the dashboard
and the state API show it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from actors.dispatch.webhook import WebhookEndpoint
from serve.errors import ConfigError

MIN_SECRET_CHARS = 16


@dataclass(frozen=True)
class EndpointSource:
    """A dispatch endpoint with where its secret is: an environment variable or a private file."""

    name: str
    url: str
    timeout_s: float
    secret_env: str | None = None
    secret_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("give exactly one of secret_env and secret_file")

    def secret_source(self) -> str:
        """Where the secret is read from, for messages (never the secret itself)."""
        source = (
            f"environment variable {self.secret_env}"
            if self.secret_file is None
            else f"secret file {self.secret_file}"
        )
        return f"dispatch endpoint '{self.name}': {source}"

    def secret(self) -> bytes:
        """The signing secret, read here from the environment variable or the file."""
        where = self.secret_source()
        if self.secret_file is not None:
            value = _read_private_file(self.secret_file, where)
        else:
            value = os.environ.get(self.secret_env or "", "")
        if len(value) < MIN_SECRET_CHARS:
            raise ConfigError(
                f"{where} must hold the webhook secret (at least {MIN_SECRET_CHARS} characters)"
            )
        return value.encode()

    def endpoint(self) -> WebhookEndpoint:
        """The endpoint with its secret, read now."""
        return WebhookEndpoint(self.name, self.url, self.secret(), self.timeout_s)


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
