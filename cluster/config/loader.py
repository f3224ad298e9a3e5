"""Read a YAML config file into :class:`SafeCityConfig`, with errors that name the field."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from cluster.config.root import SafeCityConfig
from serve.errors import ConfigError
from serve.models.registry import ModelRole


def _field_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(top level)"


def _section_at(location: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config section that holds the field at ``location`` (list indices skipped)."""
    section: type[BaseModel] = SafeCityConfig
    for name in location:
        if isinstance(name, int):
            continue
        field = section.model_fields.get(name)
        if field is None:
            return None
        nested = [t for t in _types_in(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
        if not nested:
            return None
        section = nested[0]
    return section


def _types_in(annotation: Any) -> list[Any]:
    """``annotation`` and the types inside it (``X | None``, ``list[X]``)."""
    return [annotation, *(inner for arg in get_args(annotation) for inner in _types_in(arg))]


def _unknown_field_message(location: tuple[int | str, ...]) -> str:
    """``unknown field``, with the closest known name when one is close (``match_treshold``)."""
    section = _section_at(location[:-1])
    name = str(location[-1]) if location else ""
    close = difflib.get_close_matches(name, list(section.model_fields), n=1) if section else []
    if close:
        return f"unknown field; did you mean '{close[0]}'?"
    return "unknown field (check the spelling; see the README's configuration section)"


def describe_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: ``source: field.path: message``."""
    lines = []
    for problem in error.errors():
        location = tuple(part for part in problem["loc"] if not str(part).startswith("function-after"))
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = _unknown_field_message(location)
        lines.append(f"{source}: {_field_path(location)}: {message}")
    return "\n".join(lines)


def parse_config(raw: Any, *, source: str = "config", base_dir: Path | None = None) -> SafeCityConfig:
    """Validate an already-parsed YAML document; relative paths resolve against ``base_dir``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {type(raw).__name__}")
    try:
        config = SafeCityConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None
    return config if base_dir is None else resolve_relative_paths(config, base_dir)


def _anchored(path: Path, base_dir: Path) -> Path:
    return path if path.is_absolute() or str(path).startswith("~") else base_dir / path


def resolve_relative_paths(config: SafeCityConfig, base_dir: Path) -> SafeCityConfig:
    """Paths written in a config file are relative to that file's folder, not the working directory."""
    models = config.models
    model_updates: dict[str, object] = {"cache_dir": _anchored(models.cache_dir, base_dir)}
    for role in ModelRole:
        override = getattr(models, role.value)
        if override is not None and override.path is not None:
            model_updates[role.value] = override.model_copy(
                update={"path": _anchored(override.path, base_dir)}
            )
    endpoints = [
        e
        if e.secret_file is None
        else e.model_copy(update={"secret_file": _anchored(e.secret_file, base_dir)})
        for e in config.dispatch.endpoints
    ]
    return config.model_copy(
        update={
            "data_dir": _anchored(config.data_dir, base_dir),
            "models": models.model_copy(update=model_updates),
            "dispatch": config.dispatch.model_copy(update={"endpoints": endpoints}),
        }
    )


def load_config(path: Path) -> SafeCityConfig:
    """Load and validate ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_config(raw, source=str(path), base_dir=path.parent)
