"""Which shard analyses which camera as cameras come and go: cameras stay, new ones fill the emptiest."""

from __future__ import annotations

import pytest

from actors.camera.shard import CameraSpec
from cluster.camera_assignment import assign
from serve.alerts import CameraRef


def spec(camera_id: str, fps: float = 2.0) -> CameraSpec:
    return CameraSpec(
        CameraRef(camera_id, camera_id, "fr"), f"{camera_id}.mp4", fps, faces=True, plates=False
    )


def ids(assignment: dict[int, list[CameraSpec]]) -> dict[int, list[str]]:
    return {index: [s.ref.camera_id for s in specs] for index, specs in assignment.items()}


def test_at_start_cameras_fill_shards_in_order() -> None:
    cameras = [spec(f"c{i}") for i in range(5)]
    assert ids(assign(cameras, {}, per_shard=2)) == {0: ["c0", "c1"], 1: ["c2", "c3"], 2: ["c4"]}


def test_cameras_stay_on_their_shard_and_new_ones_go_where_there_is_most_room() -> None:
    current = {0: [spec("a"), spec("b"), spec("c")], 1: [spec("d")]}
    desired = [spec("a"), spec("c"), spec("d"), spec("e"), spec("f")]  # b removed; e, f new
    assert ids(assign(desired, current, per_shard=3)) == {0: ["a", "c", "f"], 1: ["d", "e"]}


def test_a_new_shard_is_started_only_when_every_shard_is_full() -> None:
    current = {0: [spec("a"), spec("b")], 1: [spec("c"), spec("d")]}
    placed = assign([spec(x) for x in "abcdef"], current, per_shard=2)
    assert ids(placed) == {0: ["a", "b"], 1: ["c", "d"], 2: ["e", "f"]}


def test_an_emptied_shard_stays_for_the_next_camera() -> None:
    current = {0: [spec("a")], 1: [spec("b")]}
    assert ids(assign([spec("a")], current, per_shard=2)) == {0: ["a"], 1: []}
    assert ids(assign([spec("a"), spec("z")], {0: [spec("a")], 1: []}, per_shard=2)) == {0: ["a"], 1: ["z"]}


def test_a_changed_camera_keeps_its_shard_with_the_new_spec() -> None:
    placed = assign([spec("a", fps=0.5)], {3: [spec("a")]}, per_shard=1)
    assert placed == {3: [spec("a", fps=0.5)]}


def test_per_shard_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_shard"):
        assign([], {}, per_shard=0)
