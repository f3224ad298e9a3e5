"""Which camera shard analyses which camera, as cameras come, change and go at runtime.

Pure logic: the job's camera sync (``cluster.camera_sync``) applies the result to the shard actors.
A camera stays on its shard while it runs (moving it would reconnect its stream and cut its tracks);
a new camera goes to the shard with the most room, and to a new shard when every shard is full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from actors.camera.shard import CameraSpec


def assign(
    desired: Sequence[CameraSpec], current: Mapping[int, Sequence[CameraSpec]], per_shard: int
) -> dict[int, list[CameraSpec]]:
    """Each shard's cameras (by shard index) once ``desired`` runs, from the ``current`` assignment.

    Every shard of ``current`` is in the result (an emptied shard keeps its process for the next
    camera); new shards, when needed, take the next indices. Cameras keep their shard, with their
    new spec; cameras not desired any more leave; new ones fill the emptiest shard below
    ``per_shard`` first.
    """
    if per_shard < 1:
        raise ValueError(f"per_shard must be at least 1, got {per_shard}")
    wanted = {spec.ref.camera_id: spec for spec in desired}
    placed: dict[int, list[CameraSpec]] = {}
    for index, specs in sorted(current.items()):
        placed[index] = [wanted.pop(s.ref.camera_id) for s in specs if s.ref.camera_id in wanted]
    for spec in wanted.values():  # in the order desired lists them
        roomy = [index for index, specs in placed.items() if len(specs) < per_shard]
        if roomy:
            index = min(roomy, key=lambda i: (len(placed[i]), i))
        else:
            index = max(placed, default=-1) + 1
            placed[index] = []
        placed[index].append(spec)
    return placed
