"""Write a calibrated ``faces.match_threshold`` back into the YAML config, atomically and audited.

The file is edited as text, so the operator's comments and layout stay: the value on the existing
``match_threshold:`` line of the ``faces:`` section is replaced, or the key (or the section) is
added. The new text must load as a valid config whose threshold is the new value before it replaces
the old file (temp file, fsync, rename). Then one ``config.match_threshold`` entry, with the old
value, the new one and the evidence, is appended to the audit log of the config's data directory.
Running jobs keep their threshold until restarted with the new config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from actors.audit import AuditEntry, AuditLog
from actors.storage import write_bytes_atomic
from cluster.config import load_config
from cluster.config.loader import parse_config
from serve.errors import ConfigError

AUDIT_ACTION = "config.match_threshold"
_SECTION = re.compile(r"^faces:[ \t]*(#.*)?$", re.MULTILINE)
_TOP_LEVEL = re.compile(r"^[^\s#]", re.MULTILINE)
_KEY = re.compile(
    r"^(?P<indent>[ \t]+)match_threshold:[ \t]*(?P<value>[^#\n]*?)(?P<rest>[ \t]*(#.*)?)$", re.M
)
_FLOW_FACES = re.compile(r"^faces:[ \t]*\{", re.MULTILINE)


@dataclass(frozen=True)
class ThresholdChange:
    """What was written, and the audit entry that records it."""

    config_path: Path
    old: float
    new: float
    audit: AuditEntry


def with_threshold(text: str, threshold: float) -> str:
    """``text`` (a config file) with ``faces.match_threshold`` set to ``threshold``; layout kept."""
    value = f"{threshold:.4f}".rstrip("0").rstrip(".")
    if _FLOW_FACES.search(text):
        raise ConfigError("faces: is written as a {...} flow mapping; write it as a block to edit it here")
    section = _SECTION.search(text)
    if section is None:
        return (
            text + ("" if text.endswith("\n") or not text else "\n") + f"faces:\n  match_threshold: {value}\n"
        )
    body_start = section.end()
    following = _TOP_LEVEL.search(text, body_start + 1)
    body_end = following.start() if following else len(text)
    body = text[body_start:body_end]
    key = _KEY.search(body)
    if key is not None:
        body = body[: key.start("value")] + value + body[key.end("value") :]
    else:
        indent = re.search(r"^([ \t]+)\S", body, re.MULTILINE)
        body = f"\n{indent.group(1) if indent else '  '}match_threshold: {value}" + body
    return text[:body_start] + body + text[body_end:]


def write_match_threshold(
    config_path: Path,
    threshold: float,
    *,
    actor: str,
    evidence: Mapping[str, object],
    audit: AuditLog | None = None,
) -> ThresholdChange:
    """Set ``faces.match_threshold`` in ``config_path`` and audit it (in the config's data_dir by default)."""
    if not actor.strip():
        raise ConfigError("who is changing the threshold? actor must not be empty")
    old_config = load_config(config_path)
    text = config_path.read_text(encoding="utf-8")
    new_text = with_threshold(text, threshold)
    try:
        raw = yaml.safe_load(new_text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: the edited file would not be valid YAML: {exc}") from None
    new_config = parse_config(raw, source=str(config_path), base_dir=config_path.parent)
    if abs(new_config.faces.match_threshold - threshold) > 1e-4:
        raise ConfigError(
            f"{config_path}: after the edit faces.match_threshold reads {new_config.faces.match_threshold}, "
            f"not {threshold}: edit the file by hand"
        )
    write_bytes_atomic(config_path, new_text.encode("utf-8"))
    log = audit or AuditLog(old_config.data_dir.expanduser() / "audit.jsonl")
    entry = log.append(
        actor,
        AUDIT_ACTION,
        str(config_path.resolve()),
        {"old": old_config.faces.match_threshold, "new": new_config.faces.match_threshold, **evidence},
    )
    return ThresholdChange(
        config_path, old_config.faces.match_threshold, new_config.faces.match_threshold, entry
    )
