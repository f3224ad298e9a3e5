"""``placement:`` which node keeps the state, and the namespace operators find SafeCity's actors in."""

from __future__ import annotations

from pydantic import Field

from cluster.config.base import Section

HEAD_NODE_RESOURCE = "node:__internal_head__"  # Ray gives this resource to the head node only


class PlacementConfig(Section):
    """Where the actors that read and write ``data_dir`` run; camera shards and models are spread."""

    state_node_resource: str = Field(
        HEAD_NODE_RESOURCE,
        min_length=1,
        description="A Ray resource only the state node has (the node whose disk holds data_dir): the "
        "head node by default, or a custom resource given with `ray start --resources`.",
    )
    namespace: str = Field(
        "safecity",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="Ray namespace of the job's named actors (`ray list actors --filter namespace=...`).",
    )

    def state_node_options(self) -> dict[str, dict[str, float]]:
        """Ray actor options that pin an actor to the state node."""
        return {"resources": {self.state_node_resource: 0.001}}
