"""Durable Parquet files: round trip, atomic replacement under a crash, unreadable files."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from actors.storage import read_table, replace_audited, write_bytes_atomic, write_table_atomic
from serve.errors import StoreError

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("count", pa.int64()),
        pa.field("score", pa.float32()),
        pa.field("tags", pa.list_(pa.string())),
    ]
)


def sample(ids: list[str]) -> pa.Table:
    return pa.table(
        {
            "id": ids,
            "count": list(range(len(ids))),
            "score": [0.5 + i for i in range(len(ids))],
            "tags": [[f"t{i}", "x"] for i in range(len(ids))],
        },
        schema=SCHEMA,
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "store" / "watchlist.parquet"
    table = sample(["a", "b", "ünïcode"])
    write_table_atomic(path, table)
    back = read_table(path, SCHEMA)
    assert back.schema == SCHEMA
    assert back.equals(table)
    assert sorted(p.name for p in path.parent.iterdir()) == ["watchlist.parquet"]


def test_rewrite_replaces_whole_table(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_table_atomic(path, sample(["a", "b", "c"]))
    write_table_atomic(path, sample(["z"]))
    assert read_table(path, SCHEMA).column("id").to_pylist() == ["z"]


def test_read_selects_and_orders_schema_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    reordered = pa.table(
        {
            "extra": [1],
            "tags": [["t"]],
            "score": [2.0],
            "count": [3],
            "id": ["a"],
        }
    )
    write_table_atomic(path, reordered)
    back = read_table(path, SCHEMA)
    assert back.schema == SCHEMA
    assert back.to_pylist() == [{"id": "a", "count": 3, "score": 2.0, "tags": ["t"]}]


def test_missing_file_reads_as_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "never-written.parquet"
    table = read_table(path, SCHEMA)
    assert table.num_rows == 0
    assert table.schema == SCHEMA
    assert not path.exists(), "reading does not create the file"


def test_crash_during_replace_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.parquet"
    write_table_atomic(path, sample(["old"]))
    before = path.read_bytes()

    calls: list[tuple[str, str]] = []

    def crash(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        write_table_atomic(path, sample(["new", "newer"]))
    monkeypatch.undo()

    assert len(calls) == 1, "the new content went through a rename"
    assert Path(calls[0][0]).parent == tmp_path
    assert calls[0][1] == str(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["t.parquet"], "no temporary file left behind"
    assert read_table(path, SCHEMA).column("id").to_pylist() == ["old"]


def test_crash_on_first_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_bytes_atomic(tmp_path / "sub" / "blob.bin", b"payload")
    monkeypatch.undo()
    assert os.listdir(tmp_path / "sub") == []


@pytest.mark.parametrize(
    "content",
    [b"", b"not parquet at all", b"PAR1" + b"\x00" * 32],
    ids=["empty", "garbage", "bad-footer"],
)
def test_corrupt_file_is_store_error_naming_path(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "t.parquet"
    path.write_bytes(content)
    with pytest.raises(StoreError) as raised:
        read_table(path, SCHEMA)
    assert str(path) in str(raised.value)


def test_truncated_file_is_store_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_table_atomic(path, sample(["a", "b"]))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="cannot read"):
        read_table(path, SCHEMA)


def test_missing_columns_is_store_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_table_atomic(path, pa.table({"id": ["a"], "score": [1.0]}))
    with pytest.raises(StoreError) as raised:
        read_table(path, SCHEMA)
    message = str(raised.value)
    assert str(path) in message
    assert "count" in message
    assert "tags" in message


def test_an_unaudited_replacement_does_not_stand(tmp_path: Path) -> None:
    target = tmp_path / "list.bin"

    def refuse() -> None:
        raise OSError("audit log disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_audited(target, lambda: write_bytes_atomic(target, b"new"), refuse)
    assert not target.exists()  # there was no file: none is left
    write_bytes_atomic(target, b"old")
    with pytest.raises(OSError, match="disk full"):
        replace_audited(target, lambda: write_bytes_atomic(target, b"new"), refuse)
    assert target.read_bytes() == b"old"
    audited: list[bytes] = []
    replace_audited(
        target, lambda: write_bytes_atomic(target, b"new"), lambda: audited.append(target.read_bytes())
    )
    assert target.read_bytes() == b"new" and audited == [b"new"]  # audited after the write
