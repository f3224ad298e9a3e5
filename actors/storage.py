"""Durable files: atomic Parquet replacement and an exclusive writer lock.

Stores are small (a watchlist of thousands of rows) and rewritten whole on each change; an atomic
replace means a crash at any point leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from serve.errors import StoreError
from serve.models.files import atomic_file, exclusive_lock

__all__ = ["exclusive_lock", "read_table", "write_bytes_atomic", "write_table_atomic"]


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as handle:
        handle.write(data)


def write_table_atomic(path: Path, table: pa.Table) -> None:
    """Write a Parquet table atomically (temp file, fsync, rename, fsync directory)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    write_bytes_atomic(path, sink.getvalue().to_pybytes())


def replace_audited(path: Path, write: Callable[[], object], audit: Callable[[], object]) -> None:
    """``write`` (which replaces ``path`` atomically), then ``audit`` the change; if auditing fails, put
    ``path`` back as it was and raise: an unaudited change to a list, a key or a review must not stand."""
    previous = path.read_bytes() if path.exists() else None
    write()
    try:
        audit()
    except BaseException:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            write_bytes_atomic(path, previous)
        raise


def read_table(path: Path, schema: pa.Schema, added: Mapping[str, object] | None = None) -> pa.Table:
    """Read a Parquet table, or an empty one with ``schema`` when the file does not exist yet.

    ``added`` names columns added to ``schema`` after files were first written, with the value a file
    written before holds in them.
    """
    if not path.exists():
        return schema.empty_table()
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"cannot read {path}: {exc}; restore it from backup or move it aside") from exc
    for name, value in (added or {}).items():
        if name not in table.schema.names:
            column = pa.array([value] * table.num_rows, type=schema.field(name).type)
            table = table.append_column(schema.field(name), column)
    missing = [name for name in schema.names if name not in table.schema.names]
    if missing:
        raise StoreError(f"{path} lacks columns {missing}; it was not written by this SafeCity version")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowException, ValueError) as exc:
        raise StoreError(f"{path} has columns of the wrong type: {exc}") from exc
