"""The KubeRay manifests in ``cluster/k8s/`` (issue 10): valid, and consistent with the config they carry.

No Kubernetes cluster is needed. Every manifest under ``cluster/k8s/`` (sub-folders included) is loaded;
each RayCluster and RayJob is validated against the OpenAPI v3 schema of KubeRay's CRDs in
``../shared/kuberay/`` (those of KubeRay v1.7.0, the operator the README asks for), made strict the way
``kubectl apply`` is (an unknown field is an error, not silently pruned); core objects are checked for
kind, apiVersion and name. Then the checks below read the objects together with the SafeCity config in
the ConfigMap, parsed by the project's own loader: the state volume, the config mount, the webhook
secret, the GPU and CPU groups and the RayJob must agree with each other and with the config. A few of
KubeRay's own admission rules (``ray-operator/controllers/ray/utils/validation.go``) that the schema
cannot express are mirrored.

Each check returns a list of problems. ``test_mutation_is_caught`` breaks the manifests one way at a time
and asserts that the checks report it, so no check can pass vacuously.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import re
import shlex
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

from actors import dispatcher_actor, matcher_actor
from cluster import job
from cluster.config import SafeCityConfig
from cluster.config.loader import parse_config
from cluster.config.placement import HEAD_NODE_RESOURCE
from serve.apps import ModelApp
from serve.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "cluster" / "k8s"
KUBERAY = Path(__file__).resolve().parents[2] / "shared" / "kuberay"
CRD_FILES = {"RayCluster": "ray.io_rayclusters.yaml", "RayJob": "ray.io_rayjobs.yaml"}
CORE_KINDS = {"ConfigMap": "v1", "Secret": "v1", "PersistentVolumeClaim": "v1"}
APP_LABEL = ("app.kubernetes.io/name", "safecity")
CLUSTER_SELECTOR_KEY = "ray.io/cluster"  # KubeRay: RayJobClusterSelectorKey
MAX_RAYCLUSTER_NAME, MAX_RAYJOB_NAME = 53, 47  # KubeRay: MaxRayClusterNameLength, MaxRayJobNameLength
MIN_RAY_FOR_TOKEN_AUTH = (2, 52, 0)  # KubeRay refuses authOptions.mode token below this rayVersion
GPU = "nvidia.com/gpu"
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
STOP_WAIT_MARGIN_S = 10  # beyond --drain-timeout: the cameras stop and the job prints before SIGKILL


@dataclass
class Bundle:
    """The parsed manifests, plus the Dockerfile and pyproject they must agree with."""

    docs: list[tuple[str, dict[str, Any]]]
    dockerfile: str
    pyproject: dict[str, Any]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [doc for _, doc in self.docs if doc.get("kind") == kind]

    def one(self, kind: str) -> dict[str, Any]:
        found = self.all(kind)
        assert len(found) == 1, f"expected exactly one {kind} in cluster/k8s/, found {len(found)}"
        return found[0]

    def named(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((d for d in self.all(kind) if d.get("metadata", {}).get("name") == name), None)


def load_bundle() -> Bundle:
    files = sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml"))
    assert files, f"no manifests in {K8S}"
    docs = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                docs.append((str(path.relative_to(REPO)), doc))
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return Bundle(docs, (REPO / "Dockerfile").read_text(encoding="utf-8"), pyproject)


# --- KubeRay's CRD schemas as JSON Schema ------------------------------------------------------------


def _strict_json_schema(node: Any) -> Any:
    """An OpenAPI v3 (CRD structural) schema as JSON Schema, refusing unknown fields like ``kubectl``.

    The API server prunes unknown fields, and ``kubectl apply`` (strict field validation, its default)
    refuses them: so does this, by closing every object schema that lists its properties and keeps no
    unknown fields. ``nullable`` becomes a ``null`` type; ``x-kubernetes-*`` keys are dropped
    (``x-kubernetes-int-or-string`` always comes with its ``anyOf``; CEL rules are not evaluated).
    """
    if isinstance(node, list):
        return [_strict_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    preserves = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node and "additionalProperties" not in node and not preserves:
        out["additionalProperties"] = False
    return out


def kuberay_crd(kind: str) -> Path:
    """The CRD file of ``kind`` in ../shared/kuberay/, or a test failure that says where it was looked for."""
    path = KUBERAY / CRD_FILES[kind]
    if not path.is_file():
        pytest.fail(
            f"KubeRay CRDs not found: no {path}. The test reads ../shared/kuberay/ beside the repository "
            "(ray.io_rayclusters.yaml and ray.io_rayjobs.yaml from ray-project/kuberay, the operator release "
            "README 'Kubernetes (KubeRay)' names)"
        )
    return path


@cache
def _crd_schemas(path: Path) -> dict[str, dict[str, Any]]:
    """The strict JSON Schema of each served version of the CRD in ``path`` (libyaml: 40k lines)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return {
        v["name"]: _strict_json_schema(v["schema"]["openAPIV3Schema"])
        for v in crd["spec"]["versions"]
        if v.get("served")
    }


def crd_validator(kind: str, version: str) -> jsonschema.protocols.Validator:
    schemas = _crd_schemas(kuberay_crd(kind))
    if version not in schemas:
        raise LookupError(f"{kind} {version} is not served by the CRD (served: {sorted(schemas)})")
    return jsonschema.Draft202012Validator(schemas[version])


def check_kinds_and_names(bundle: Bundle) -> list[str]:
    """Every object is one SafeCity deploys, with apiVersion, kind, a valid name and the app label."""
    problems = []
    seen: set[tuple[str, str]] = set()
    namespaces = set()
    for source, doc in bundle.docs:
        kind, api, meta = doc.get("kind"), doc.get("apiVersion"), doc.get("metadata") or {}
        name = meta.get("name")
        where = f"{source}: {kind} {name}"
        if kind in CRD_FILES:
            if api != "ray.io/v1":
                problems.append(f"{where}: apiVersion {api}, expected ray.io/v1")
            limit = MAX_RAYCLUSTER_NAME if kind == "RayCluster" else MAX_RAYJOB_NAME
            if not isinstance(name, str) or not DNS1035.match(name) or len(name) > limit:
                problems.append(f"{where}: KubeRay needs a DNS-1035 label of at most {limit} characters")
        elif kind in CORE_KINDS:
            if api != CORE_KINDS[kind]:
                problems.append(f"{where}: apiVersion {api}, expected {CORE_KINDS[kind]}")
            if not isinstance(name, str) or not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
                problems.append(f"{where}: metadata.name must be a DNS-1123 subdomain")
        else:
            problems.append(f"{where}: unexpected kind/apiVersion {kind} {api}")
        if (kind, name) in seen:
            problems.append(f"{where}: defined twice")
        seen.add((str(kind), str(name)))
        namespaces.add(meta.get("namespace"))
        if (meta.get("labels") or {}).get(APP_LABEL[0]) != APP_LABEL[1]:
            problems.append(f"{where}: missing label {APP_LABEL[0]}: {APP_LABEL[1]}")
    if len(namespaces) > 1:
        problems.append(
            f"objects in different namespaces {namespaces}: a RayJob finds its RayCluster in its own"
        )
    return problems


def check_crd_schemas(bundle: Bundle) -> list[str]:
    """Each RayCluster and RayJob validates against the served CRD version its apiVersion names."""
    problems = []
    for source, doc in bundle.docs:
        kind = doc.get("kind")
        if kind not in CRD_FILES:
            continue
        version = str(doc.get("apiVersion", "")).rpartition("/")[2]
        try:
            validator = crd_validator(kind, version)
        except LookupError as exc:
            problems.append(f"{source}: {exc}")
            continue
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            path = ".".join(map(str, error.absolute_path)) or "(top)"
            problems.append(f"{source}: {kind} schema: {path}: {error.message}")
    return problems


# --- The pods of the RayCluster ------------------------------------------------------------------------


@dataclass
class Group:
    """The head group or a worker group of the RayCluster."""

    name: str
    spec: dict[str, Any]
    head: bool

    @property
    def pod(self) -> dict[str, Any]:
        return dict(self.spec.get("template", {}).get("spec") or {})

    @property
    def ray_container(self) -> dict[str, Any]:
        return dict((self.pod.get("containers") or [{}])[0])  # KubeRay: RayContainerIndex = 0

    @property
    def params(self) -> dict[str, str]:
        return dict(self.spec.get("rayStartParams") or {})

    def limits(self) -> dict[str, Any]:
        return dict((self.ray_container.get("resources") or {}).get("limits") or {})

    def cpus(self) -> float:
        """Logical CPUs the node gives Ray: num-cpus, else (as KubeRay does) the container's CPU limit."""
        if "num-cpus" in self.params:
            return float(self.params["num-cpus"])
        return quantity(self.limits().get("cpu", 0))

    def gpus(self) -> float:
        if "num-gpus" in self.params:
            return float(self.params["num-gpus"])
        return quantity(self.limits().get(GPU, 0))

    def replicas(self) -> int:
        """Pods of the group (autoscaling off: replicas, kept within min and max)."""
        if self.head:
            return 1
        low, high = self.spec.get("minReplicas", 0), self.spec.get("maxReplicas", 2**31 - 1)
        return int(min(max(self.spec.get("replicas", low), low), high))

    def mounts(self) -> dict[str, dict[str, Any]]:
        """The Ray container's volume mounts with their volumes, by mount path."""
        volumes = {v.get("name"): v for v in self.pod.get("volumes") or []}
        return {
            m["mountPath"]: volumes.get(m.get("name"), {})
            for m in self.ray_container.get("volumeMounts") or []
        }

    def env(self) -> dict[str, dict[str, Any]]:
        return {e.get("name"): e for e in self.ray_container.get("env") or []}


def quantity(value: Any) -> float:
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def groups(bundle: Bundle) -> list[Group]:
    spec = bundle.one("RayCluster").get("spec", {})
    head = [Group("head", spec.get("headGroupSpec") or {}, head=True)]
    return head + [Group(w.get("groupName", "?"), w, head=False) for w in spec.get("workerGroupSpecs") or []]


def gpu_groups(bundle: Bundle) -> list[Group]:
    return [g for g in groups(bundle) if not g.head and quantity(g.limits().get(GPU, 0)) > 0]


def cpu_groups(bundle: Bundle) -> list[Group]:
    return [g for g in groups(bundle) if not g.head and g not in gpu_groups(bundle)]


# --- The config in the ConfigMap, found from the RayJob's entrypoint -----------------------------------


@dataclass
class ConfigSource:
    path: PurePosixPath  # where the job reads it, on the head
    configmap: str
    key: str
    text: str


def job_args(bundle: Bundle) -> list[str]:
    return shlex.split(str(bundle.one("RayJob").get("spec", {}).get("entrypoint", "")))


def option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def config_source(bundle: Bundle) -> tuple[ConfigSource | None, list[str]]:
    """The ConfigMap key the RayJob's ``--config`` reads through the head's mount, or the problem."""
    given = option(job_args(bundle), "--config")
    if given is None:
        return None, ["RayJob entrypoint: no --config FILE"]
    path = PurePosixPath(given)
    head = groups(bundle)[0]
    for mount_path, volume in head.mounts().items():
        mount = PurePosixPath(mount_path)
        if mount not in path.parents:
            continue
        if "configMap" not in volume:
            return None, [f"RayJob --config {path}: {mount} on the head is not a ConfigMap volume"]
        name = volume["configMap"].get("name")
        relative = str(path.relative_to(mount))
        items = {i.get("path"): i.get("key") for i in volume["configMap"].get("items") or []}
        key = items.get(relative, relative if not items else None)
        configmap = bundle.named("ConfigMap", name)
        if configmap is None:
            return None, [f"head volume {volume.get('name')}: ConfigMap {name} is not in cluster/k8s/"]
        data = configmap.get("data") or {}
        if key not in data:
            return None, [
                f"RayJob --config {path}: ConfigMap {name} has no key {key!r} (keys: {sorted(data)})"
            ]
        return ConfigSource(path, name, str(key), str(data[key])), []
    return None, [f"RayJob --config {path}: no volume is mounted at a folder of it on the head"]


def load_config_text(source: ConfigSource) -> SafeCityConfig:
    """What ``load_config(path)`` gives on the head: the same YAML parse and validation."""
    return parse_config(
        yaml.safe_load(source.text),
        source=f"ConfigMap {source.configmap} {source.key}",
        base_dir=Path(str(source.path.parent)),
    )


def bundle_config(bundle: Bundle) -> SafeCityConfig | None:
    source, _ = config_source(bundle)
    if source is None:
        return None
    try:
        return load_config_text(source)
    except (ConfigError, yaml.YAMLError):
        return None


def check_config(bundle: Bundle) -> list[str]:
    """The RayJob's --config is a ConfigMap key on the head, and the project's loader accepts it."""
    source, problems = config_source(bundle)
    if source is None:
        return problems
    try:
        config = load_config_text(source)
    except (ConfigError, yaml.YAMLError) as exc:
        return [f"the config in ConfigMap {source.configmap}: {exc}"]
    if not config.cameras:
        problems.append("the config lists no cameras: cluster.job refuses to run")
    return problems


def state_group(bundle: Bundle, config: SafeCityConfig) -> Group | None:
    """The group holding ``placement.state_node_resource``: the head for Ray's head-node resource."""
    wanted = config.placement.state_node_resource
    if wanted == HEAD_NODE_RESOURCE:
        return groups(bundle)[0]
    holders = [
        g
        for g in groups(bundle)
        if wanted in str(g.params.get("resources", "")) or wanted in (g.spec.get("resources") or {})
    ]
    return holders[0] if len(holders) == 1 and holders[0].replicas() == 1 else None


def check_state_volume(bundle: Bundle) -> list[str]:
    """data_dir is the state node's PersistentVolumeClaim, mounted there and nowhere else."""
    config = bundle_config(bundle)
    if config is None:
        return []
    node = state_group(bundle, config)
    if node is None:
        return [
            f"placement.state_node_resource {config.placement.state_node_resource!r}: no single one-pod "
            "group of the RayCluster provides it"
        ]
    data_dir = str(config.data_dir)
    volume = node.mounts().get(data_dir)
    if volume is None or "persistentVolumeClaim" not in volume:
        return [f"data_dir {data_dir}: the state node ({node.name}) mounts no PersistentVolumeClaim there"]
    claim = volume["persistentVolumeClaim"].get("claimName")
    pvc = bundle.named("PersistentVolumeClaim", claim)
    problems = []
    if pvc is None:
        problems.append(f"data_dir volume: PersistentVolumeClaim {claim} is not in cluster/k8s/")
    elif not set(pvc.get("spec", {}).get("accessModes") or []) <= {"ReadWriteOnce", "ReadWriteOncePod"}:
        problems.append(f"PersistentVolumeClaim {claim}: accessModes must be ReadWriteOnce: one writer")
    for group in groups(bundle):
        claims = [v.get("persistentVolumeClaim", {}).get("claimName") for v in group.pod.get("volumes") or []]
        if group.name != node.name and claim in claims:
            problems.append(f"group {group.name} mounts {claim}: data_dir belongs only on the state node")
    return problems


def check_webhook_secret(bundle: Bundle) -> list[str]:
    """Each endpoint's secret reaches the state node from a Secret in cluster/k8s/, and nothing else."""
    config = bundle_config(bundle)
    if config is None:
        return []
    node = state_group(bundle, config)
    if node is None:
        return []  # check_state_volume reports it
    problems = []
    token_secret = bundle.one("RayCluster")["metadata"]["name"]  # KubeRay's token Secret is named so
    for other in bundle.all("Secret"):
        if other["metadata"]["name"] == token_secret:
            problems.append(
                f"Secret {token_secret}: KubeRay keeps the RayCluster's auth token in a Secret of that name"
            )
    for endpoint in config.dispatch.endpoints:
        where = f"dispatch endpoint {endpoint.name}"
        if endpoint.secret_env is not None:
            ref = (node.env().get(endpoint.secret_env) or {}).get("valueFrom", {}).get("secretKeyRef")
            if ref is None:
                problems.append(
                    f"{where}: {endpoint.secret_env} is not set from a Secret on the {node.name} pod"
                )
                continue
            secret_name, key = ref.get("name"), ref.get("key")
        else:
            path = PurePosixPath(str(endpoint.secret_file))
            volume = node.mounts().get(str(path.parent), {})
            if "secret" not in volume:
                problems.append(f"{where}: no Secret volume mounted at {path.parent} on the {node.name} pod")
                continue
            secret_name = volume["secret"].get("secretName")
            items = {i.get("path"): i.get("key") for i in volume["secret"].get("items") or []}
            key = items.get(path.name, path.name if not items else None)
            mode = int(volume["secret"].get("defaultMode", 0o644))
            if mode & 0o077 or "fsGroup" in (node.pod.get("securityContext") or {}):
                problems.append(
                    f"{where}: the dispatcher refuses a secret file others may read (mode/fsGroup)"
                )
        secret = bundle.named("Secret", secret_name)
        if secret is None:
            problems.append(f"{where}: Secret {secret_name} is not in cluster/k8s/")
        elif key not in {**(secret.get("data") or {}), **(secret.get("stringData") or {})}:
            problems.append(f"{where}: Secret {secret_name} has no key {key!r}")
        for group in groups(bundle):
            if group.name != node.name and endpoint.secret_env and endpoint.secret_env in group.env():
                problems.append(
                    f"{where}: group {group.name} gets {endpoint.secret_env}; only the state node needs it"
                )
        runtime_env = str(bundle.one("RayJob").get("spec", {}).get("runtimeEnvYAML", ""))
        if endpoint.secret_env and endpoint.secret_env in runtime_env:
            problems.append(f"{where}: {endpoint.secret_env} in runtimeEnvYAML, which Ray's job API shows")
    return problems


def check_gpu_serving(bundle: Bundle) -> list[str]:
    """A GPU group with num-gpus and nvidia.com/gpu; the serving sections take GPU shares that fit it."""
    config = bundle_config(bundle)
    if config is None:
        return []
    gpus = gpu_groups(bundle)
    if not gpus:
        return [f"no worker group has {GPU} limits: the Serve replicas need a GPU group"]
    problems = []
    for group in gpus:
        limit = quantity(group.limits()[GPU])
        if group.params.get("num-gpus") is None or float(group.params["num-gpus"]) != limit:
            problems.append(
                f"group {group.name}: rayStartParams num-gpus must equal its {GPU} limit {limit:g}"
            )
        requested = ((group.ray_container.get("resources") or {}).get("requests") or {}).get(GPU)
        if requested is not None and quantity(requested) != limit:
            problems.append(f"group {group.name}: {GPU} requests must equal limits")
        if group.spec.get("minReplicas", 0) < 1 or group.replicas() < 1:
            problems.append(
                f"group {group.name}: minReplicas and replicas must be at least 1: the job asks Serve for "
                "GPU shares only if the cluster has GPUs when it starts"
            )
    if config.models.device == "cpu":
        problems.append("models.device is cpu: the GPU group would idle")
    node_gpus, node_cpus = max(g.gpus() for g in gpus), max(g.cpus() for g in gpus)
    total_gpus = sum(g.gpus() * g.replicas() for g in gpus)
    total_cpus = sum(g.cpus() * g.replicas() for g in gpus)
    peak_gpus = peak_cpus = 0.0
    for role in ModelApp:
        section = getattr(config.serving, role)
        most = section.autoscaling.max_replicas if section.autoscaling else section.num_replicas
        if section.num_gpus <= 0:
            problems.append(f"serving.{role}.num_gpus is 0: its replicas would not use the GPU group")
        if section.num_gpus > node_gpus or section.num_cpus > node_cpus:
            problems.append(
                f"serving.{role}: a replica (num_gpus {section.num_gpus:g}, num_cpus "
                f"{section.num_cpus:g}) fits no GPU node ({node_gpus:g} GPU, num-cpus {node_cpus:g})"
            )
        peak_gpus += most * section.num_gpus
        peak_cpus += most * section.num_cpus
    if peak_gpus > total_gpus or peak_cpus > total_cpus:
        problems.append(
            f"serving at most replicas needs {peak_gpus:g} GPU and {peak_cpus:g} CPU; the GPU group has "
            f"{total_gpus:g} GPU and {total_cpus:g} CPU"
        )
    return problems


def check_cpu_placement(bundle: Bundle) -> list[str]:
    """The head holds the matcher and dispatcher and no camera shard; the CPU group holds the shards."""
    config = bundle_config(bundle)
    if config is None:
        return []
    problems = []
    # Ray keeps an actor class's @ray.remote options in _default_options.
    actors: tuple[Any, ...] = (matcher_actor.MatcherActor, dispatcher_actor.DispatcherActor)
    state_actors = sum(float(actor._default_options["num_cpus"]) for actor in actors)
    node = state_group(bundle, config)
    shard_cpus = config.pipeline.actor_num_cpus
    if node is not None:
        if node.cpus() < state_actors:
            problems.append(
                f"{node.name}: num-cpus {node.cpus():g} cannot hold the matcher and the dispatcher "
                f"({state_actors:g} CPU), which must run on the state node"
            )
        elif node.cpus() - state_actors >= shard_cpus:
            problems.append(
                f"{node.name}: num-cpus {node.cpus():g} leaves room for camera shards on the state node "
                f"(each {shard_cpus:g} CPU); keep its CPU for the matcher"
            )
    for group in gpu_groups(bundle):
        if group.cpus() >= shard_cpus:
            problems.append(
                f"GPU group {group.name}: num-cpus {group.cpus():g} lets camera shards land on it"
            )
    cameras = [c for c in config.cameras if c.enabled and c.kind != "plain"]
    shards = math.ceil(len(cameras) / config.pipeline.cameras_per_actor)
    room = sum(math.floor(g.cpus() / shard_cpus) * g.replicas() for g in cpu_groups(bundle))
    if shards > room or not cpu_groups(bundle):
        problems.append(f"camera shards: {shards} needed, the CPU worker groups hold {room}")
    return problems


def check_rayjob(bundle: Bundle) -> list[str]:
    """The RayJob runs cluster.job on the RayCluster it names, and gives the job time to drain."""
    rayjob, cluster = bundle.one("RayJob"), bundle.one("RayCluster")
    spec = rayjob.get("spec", {})
    problems = []
    selector = spec.get("clusterSelector") or {}
    name = cluster["metadata"]["name"]
    if selector.get(CLUSTER_SELECTOR_KEY) != name:
        problems.append(f"RayJob clusterSelector {selector}: must be {{{CLUSTER_SELECTOR_KEY}: {name}}}")
    if "rayClusterSpec" in spec:
        problems.append("RayJob: rayClusterSpec would create a cluster without the state volume")
    if spec.get("submissionMode", "K8sJobMode") != "K8sJobMode":
        problems.append(f"RayJob submissionMode {spec['submissionMode']}: K8sJobMode submits on its own")
    if (spec.get("backoffLimit") or 0) > 0:
        problems.append("RayJob: KubeRay refuses backoffLimit > 0 with clusterSelector")
    args = job_args(bundle)
    if args[:3] != ["python", "-m", "cluster.job"]:
        problems.append(f"RayJob entrypoint {args[:3]}: must run python -m cluster.job")
    try:
        runtime_env = yaml.safe_load(str(spec.get("runtimeEnvYAML", ""))) or {}
    except yaml.YAMLError as exc:
        return [*problems, f"RayJob runtimeEnvYAML is not YAML: {exc}"]
    default_drain = inspect.signature(job.run_job).parameters["drain_timeout_s"].default
    drain = float(option(args, "--drain-timeout") or default_drain)
    wait = float((runtime_env.get("env_vars") or {}).get("RAY_JOB_STOP_WAIT_TIME_S", 3))
    if wait < drain + STOP_WAIT_MARGIN_S:
        problems.append(
            f"RAY_JOB_STOP_WAIT_TIME_S {wait:g} s: Ray SIGKILLs the job before its {drain:g} s drain ends "
            f"(needs at least {drain + STOP_WAIT_MARGIN_S:g})"
        )
    return problems


def check_cluster_settings(bundle: Bundle) -> list[str]:
    """Ray version, token auth, image, and KubeRay's admission rules for groups."""
    spec = bundle.one("RayCluster").get("spec", {})
    problems = []
    ray_pins = [d for d in bundle.pyproject["project"]["dependencies"] if re.match(r"ray(\[.*\])?==", d)]
    ray_version = ray_pins[0].split("==")[1] if ray_pins else None
    if spec.get("rayVersion") != ray_version:
        problems.append(f"rayVersion {spec.get('rayVersion')}: the image installs Ray {ray_version}")
    if (spec.get("authOptions") or {}).get("mode") != "token":
        problems.append("authOptions.mode must be token: anyone who reaches the cluster could run code")
    version = tuple(int(x) for x in re.findall(r"\d+", str(spec.get("rayVersion", "0")))[:3])
    if (spec.get("authOptions") or {}).get("mode") == "token" and version < MIN_RAY_FOR_TOKEN_AUTH:
        problems.append("authOptions.mode token needs rayVersion 2.52.0 or later (KubeRay)")
    head_image = groups(bundle)[0].ray_container.get("image")
    names = [g.name for g in groups(bundle)]
    if len(set(names)) != len(names):
        problems.append(f"worker group names repeat: {names}")
    for group in groups(bundle):
        image = group.ray_container.get("image")
        expected = f"{head_image}-gpu" if group in gpu_groups(bundle) else head_image
        if image != expected:
            problems.append(
                f"group {group.name}: image {image}, expected {expected} (one build, see Dockerfile)"
            )
        if group.spec.get("resources") and {"num-cpus", "num-gpus", "memory", "resources"} & set(
            group.params
        ):
            problems.append(
                f"group {group.name}: KubeRay refuses resources in both rayStartParams and resources"
            )
        if "labels" in group.params:
            problems.append(f"group {group.name}: KubeRay refuses rayStartParams labels")
        if not group.head and not (
            "minReplicas" in group.spec
            and "maxReplicas" in group.spec
            and group.spec["minReplicas"]
            <= group.spec.get("replicas", group.spec["minReplicas"])
            <= group.spec["maxReplicas"]
        ):
            problems.append(f"group {group.name}: needs minReplicas <= replicas <= maxReplicas")
    return problems


def check_image(bundle: Bundle) -> list[str]:
    """The Dockerfile bakes the weights where the config looks, runs as the pods' user, pins ORT-GPU."""
    config = bundle_config(bundle)
    if config is None:
        return []
    problems = []
    cache = re.search(r"^ARG MODEL_CACHE=(\S+)", bundle.dockerfile, re.M)
    if cache is None or Path(cache.group(1)) != config.models.cache_dir:
        problems.append(
            f"models.cache_dir {config.models.cache_dir}: the Dockerfile pulls the weights into "
            f"{cache.group(1) if cache else '(no ARG MODEL_CACHE)'}"
        )
    if config.models.auto_pull:
        problems.append("models.auto_pull is true: the image carries the weights; nodes must not download")
    user = re.search(r"^USER (\d+)(?::(\d+))?", bundle.dockerfile, re.M)
    head = groups(bundle)[0].pod.get("securityContext") or {}
    if (
        user is None
        or head.get("runAsUser") != int(user.group(1))
        or head.get("fsGroup") != int(user.group(2) or user.group(1))
    ):
        problems.append(
            f"head securityContext {head}: runAsUser and fsGroup must be the image's USER "
            f"({user.group(0) if user else 'none'}), or the state volume is not writable"
        )
    gpu_pin = [
        d for d in bundle.pyproject["project"]["optional-dependencies"]["gpu"] if "onnxruntime-gpu" in d
    ]
    reinstalled = re.findall(r"onnxruntime-gpu==[^\s;]+", bundle.dockerfile)
    if not gpu_pin or reinstalled != gpu_pin:
        problems.append(
            f"Dockerfile: the gpu image reinstalls {reinstalled}, pyproject's gpu extra pins {gpu_pin}"
        )
    return problems


def check_references(bundle: Bundle) -> list[str]:
    """Every volume mount has its volume; every referenced ConfigMap, Secret and claim is in cluster/k8s/."""
    problems = []
    token_secret = bundle.one("RayCluster")["metadata"]["name"]
    for group in groups(bundle):
        pod = group.pod
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            for mount in container.get("volumeMounts") or []:
                if mount.get("name") not in volumes:
                    problems.append(
                        f"group {group.name}: mount {mount.get('name')} has no volume of that name"
                    )
            for env in container.get("env") or []:
                for kind, ref_key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    ref = (env.get("valueFrom") or {}).get(ref_key)
                    if ref is None or (kind == "Secret" and ref.get("name") == token_secret):
                        continue
                    target = bundle.named(kind, ref.get("name"))
                    keys = (
                        {**(target.get("data") or {}), **(target.get("stringData") or {})} if target else {}
                    )
                    if ref.get("key") not in keys:
                        problems.append(f"group {group.name}: env {env.get('name')}: no {kind} {ref}")
        for name, volume in volumes.items():
            for kind, ref_key, name_key in (
                ("ConfigMap", "configMap", "name"),
                ("Secret", "secret", "secretName"),
                ("PersistentVolumeClaim", "persistentVolumeClaim", "claimName"),
            ):
                if ref_key in volume and bundle.named(kind, volume[ref_key].get(name_key)) is None:
                    problems.append(
                        f"group {group.name}: volume {name}: {kind} {volume[ref_key]} not in cluster/k8s/"
                    )
    return problems


CHECKS: list[Callable[[Bundle], list[str]]] = [
    check_kinds_and_names,
    check_crd_schemas,
    check_config,
    check_state_volume,
    check_webhook_secret,
    check_gpu_serving,
    check_cpu_placement,
    check_rayjob,
    check_cluster_settings,
    check_image,
    check_references,
]


def all_problems(bundle: Bundle) -> list[str]:
    """Every check's problems; the consistency checks only once the objects are well formed."""
    basic = check_kinds_and_names(bundle) + check_crd_schemas(bundle)
    if basic:
        return basic
    return [problem for check in CHECKS[2:] for problem in check(bundle)]


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle()


def test_the_manifests_hold_what_the_issue_asks(bundle: Bundle) -> None:
    kinds = sorted(doc["kind"] for _, doc in bundle.docs)
    assert kinds == ["ConfigMap", "PersistentVolumeClaim", "RayCluster", "RayJob", "Secret"]
    assert not bundle.all("RayService"), "camera actors belong to a RayJob, not a RayService"


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_check_passes(bundle: Bundle, check: Callable[[Bundle], list[str]]) -> None:
    assert check(bundle) == []


def _ray_container(bundle: Bundle, group: str) -> dict[str, Any]:
    spec = next(g for g in groups(bundle) if g.name == group).spec
    container: dict[str, Any] = spec["template"]["spec"]["containers"][0]
    return container


def _config_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[Bundle], None]:
    """A mutation of the SafeCity config inside the ConfigMap."""

    def mutate(bundle: Bundle) -> None:
        configmap = bundle.one("ConfigMap")
        raw = yaml.safe_load(configmap["data"]["config.yaml"])
        edit(raw)
        configmap["data"]["config.yaml"] = yaml.safe_dump(raw)

    return mutate


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _cluster(bundle: Bundle) -> dict[str, Any]:
    spec: dict[str, Any] = bundle.one("RayCluster")["spec"]
    return spec


def _worker(bundle: Bundle, name: str) -> dict[str, Any]:
    return next(w for w in bundle.one("RayCluster")["spec"]["workerGroupSpecs"] if w["groupName"] == name)


def _head_pod(bundle: Bundle) -> dict[str, Any]:
    pod: dict[str, Any] = _cluster(bundle)["headGroupSpec"]["template"]["spec"]
    return pod


def _rayjob(bundle: Bundle) -> dict[str, Any]:
    spec: dict[str, Any] = bundle.one("RayJob")["spec"]
    return spec


def _secret_file_with_fsgroup(bundle: Bundle) -> None:
    """secret_file from a Secret volume on the head, whose fsGroup gives the file's group read access."""
    secret_file = {"name": "c4", "url": "https://c4.example/", "secret_file": "/etc/webhook/webhook-secret"}
    _config_edit(_set("dispatch.endpoints.0", secret_file))(bundle)
    _head_pod(bundle)["volumes"].append(
        {"name": "webhook", "secret": {"secretName": "safecity-webhook", "defaultMode": 0o400}}
    )
    _ray_container(bundle, "head")["volumeMounts"].append({"name": "webhook", "mountPath": "/etc/webhook"})


MUTATIONS: dict[str, tuple[Callable[[Bundle], None], str]] = {
    # The CRD schema, made strict.
    "misspelt field": (lambda b: _worker(b, "cpu").update(rayStartParam={"num-cpus": "8"}), "rayStartParam"),
    "replicas as a string": (lambda b: _worker(b, "cpu").update(replicas="2"), "is not of type 'integer'"),
    "bad container field": (lambda b: _ray_container(b, "head").update(volumeMount=[]), "volumeMount"),
    "unknown RayJob field": (lambda b: _rayjob(b).update(clusterSelectors={}), "clusterSelectors"),
    "unserved version": (lambda b: b.one("RayJob").update(apiVersion="ray.io/v2"), "not served"),
    # Core objects.
    "no name": (lambda b: b.one("ConfigMap")["metadata"].pop("name"), "DNS-1123"),
    "unknown kind": (
        lambda b: b.docs.append(("x.yaml", {"kind": "Deployment", "apiVersion": "apps/v1"})),
        "Deployment",
    ),
    "no app label": (lambda b: b.one("PersistentVolumeClaim")["metadata"]["labels"].clear(), "missing label"),
    "two namespaces": (lambda b: b.one("RayJob")["metadata"].update(namespace="other"), "namespaces"),
    # The config.
    "config invalid": (_config_edit(_set("faces.match_treshold", 0.5)), "did you mean 'match_threshold'"),
    "config not YAML": (lambda b: b.one("ConfigMap")["data"].update({"config.yaml": "a: [b"}), "ConfigMap"),
    "no cameras": (_config_edit(_set("cameras", [])), "no cameras"),
    "--config elsewhere": (
        lambda b: _rayjob(b).update(entrypoint="python -m cluster.job --config /etc/other/config.yaml"),
        "no volume is mounted",
    ),
    "--config key missing": (
        lambda b: _rayjob(b).update(entrypoint="python -m cluster.job --config /etc/safecity/city.yaml"),
        "no key 'city.yaml'",
    ),
    "config mount renamed": (
        lambda b: _head_pod(b)["volumes"][1]["configMap"].update(name="safecity-cfg"),
        "ConfigMap safecity-cfg is not in",
    ),
    # The state volume.
    "data_dir elsewhere": (_config_edit(_set("data_dir", "/data/safecity")), "data_dir /data/safecity"),
    "state mount moved": (
        lambda b: _ray_container(b, "head")["volumeMounts"][0].update(mountPath="/data"),
        "mounts no PersistentVolumeClaim",
    ),
    "claim renamed": (
        lambda b: _head_pod(b)["volumes"][0]["persistentVolumeClaim"].update(claimName="state"),
        "PersistentVolumeClaim state is not in",
    ),
    "shared volume": (
        lambda b: b.one("PersistentVolumeClaim")["spec"].update(accessModes=["ReadWriteMany"]),
        "ReadWriteOnce",
    ),
    "state on a worker": (
        lambda b: _worker(b, "cpu")["template"]["spec"]["volumes"].append(
            {"name": "s", "persistentVolumeClaim": {"claimName": "safecity-state"}}
        ),
        "only on the state node",
    ),
    "custom state resource nobody has": (
        _config_edit(_set("placement.state_node_resource", "safecity_state")),
        "no single one-pod group",
    ),
    # The webhook secret.
    "secret env missing": (
        lambda b: _ray_container(b, "head").pop("env"),
        "SAFECITY_WEBHOOK_SECRET is not set",
    ),
    "endpoint renames its variable": (
        _config_edit(_set("dispatch.endpoints.0.secret_env", "C4_SECRET")),
        "C4_SECRET is not set",
    ),
    "secret key renamed": (
        lambda b: b.one("Secret").update(stringData={"secret": ""}),
        "has no key 'webhook-secret'",
    ),
    "secret renamed": (
        lambda b: b.one("Secret")["metadata"].update(name="webhook"),
        "Secret safecity-webhook is not in",
    ),
    "secret named like the cluster": (
        lambda b: b.one("Secret")["metadata"].update(name="safecity"),
        "auth token",
    ),
    "secret on workers": (
        lambda b: _ray_container(b, "cpu").update(env=_ray_container(b, "head")["env"]),
        "only the state node needs it",
    ),
    "secret in runtime env": (
        lambda b: _rayjob(b).update(
            runtimeEnvYAML="env_vars: {RAY_JOB_STOP_WAIT_TIME_S: '45', SAFECITY_WEBHOOK_SECRET: x}"
        ),
        "runtimeEnvYAML",
    ),
    "secret file not mounted": (
        _config_edit(
            _set(
                "dispatch.endpoints.0",
                {"name": "c4", "url": "https://c4.example/", "secret_file": "/etc/c4/secret"},
            )
        ),
        "no Secret volume mounted at /etc/c4",
    ),
    "secret file readable by the group": (_secret_file_with_fsgroup, "refuses a secret file others may read"),
    # GPUs and serving.
    "no GPU limit": (
        lambda b: _ray_container(b, "gpu")["resources"]["limits"].pop("nvidia.com/gpu"),
        "GPU group",
    ),
    "num-gpus differs": (
        lambda b: _worker(b, "gpu")["rayStartParams"].update({"num-gpus": "2"}),
        "num-gpus must equal",
    ),
    "no GPU at start": (lambda b: _worker(b, "gpu").update(minReplicas=0, replicas=0), "at least 1"),
    "replica without GPU": (
        _config_edit(_set("serving.face_embedder.num_gpus", 0)),
        "face_embedder.num_gpus is 0",
    ),
    "replica needs CPUs": (_config_edit(_set("serving.plate_reader.num_cpus", 1)), "fits no GPU node"),
    "too many replicas": (
        _config_edit(_set("serving.detectors.autoscaling.max_replicas", 16)),
        "serving at most replicas needs",
    ),
    "device cpu": (_config_edit(_set("models.device", "cpu")), "would idle"),
    # CPU placement.
    "head without CPUs": (
        lambda b: _cluster(b)["headGroupSpec"]["rayStartParams"].update({"num-cpus": "0"}),
        "cannot hold",
    ),
    "shards on the head": (
        lambda b: _cluster(b)["headGroupSpec"]["rayStartParams"].update({"num-cpus": "4"}),
        "leaves room",
    ),
    "shards on GPU nodes": (
        lambda b: _worker(b, "gpu")["rayStartParams"].update({"num-cpus": "8"}),
        "lets camera shards",
    ),
    "shards do not fit": (_config_edit(_set("pipeline.actor_num_cpus", 9)), "camera shards: 1 needed"),
    # The RayJob.
    "other cluster": (
        lambda b: _rayjob(b).update(clusterSelector={"ray.io/cluster": "ray"}),
        "clusterSelector",
    ),
    "embedded cluster": (lambda b: _rayjob(b).update(rayClusterSpec=_cluster(b)), "rayClusterSpec"),
    "sidecar mode": (lambda b: _rayjob(b).update(submissionMode="SidecarMode"), "submissionMode"),
    "retries": (lambda b: _rayjob(b).update(backoffLimit=2), "backoffLimit"),
    "not the job": (
        lambda b: _rayjob(b).update(entrypoint="python -m cluster.demo --config /etc/safecity/config.yaml"),
        "cluster.job",
    ),
    "SIGKILL before the drain": (lambda b: _rayjob(b).pop("runtimeEnvYAML"), "RAY_JOB_STOP_WAIT_TIME_S 3"),
    "longer drain": (
        lambda b: _rayjob(b).update(
            entrypoint="python -m cluster.job --config /etc/safecity/config.yaml --drain-timeout 60"
        ),
        "before its 60 s drain",
    ),
    # The cluster.
    "other Ray": (lambda b: _cluster(b).update(rayVersion="2.59.0"), "rayVersion 2.59.0"),
    "no token auth": (lambda b: _cluster(b).pop("authOptions"), "authOptions.mode must be token"),
    "mixed images": (lambda b: _ray_container(b, "cpu").update(image="rayproject/ray:2.60.0"), "one build"),
    "group resources twice": (
        lambda b: _worker(b, "cpu").update(resources={"CPU": "8"}),
        "both rayStartParams",
    ),
    "replicas out of range": (lambda b: _worker(b, "cpu").update(replicas=5), "minReplicas <= replicas"),
    "repeated group": (lambda b: _worker(b, "gpu").update(groupName="cpu"), "repeat"),
    # The image.
    "cache elsewhere": (_config_edit(_set("models.cache_dir", "/models")), "models.cache_dir /models"),
    "auto pull": (_config_edit(_set("models.auto_pull", True)), "auto_pull is true"),
    "other user": (lambda b: _head_pod(b)["securityContext"].update(fsGroup=2000), "fsGroup"),
    "Dockerfile without the gpu wheel": (
        lambda b: setattr(b, "dockerfile", b.dockerfile.replace("onnxruntime-gpu==", "onnxruntime-gpu>=")),
        "onnxruntime-gpu",
    ),
    # References.
    "mount without volume": (
        lambda b: _ray_container(b, "cpu")["volumeMounts"].append({"name": "cache", "mountPath": "/c"}),
        "mount cache has no volume",
    ),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutation_is_caught(bundle: Bundle, name: str) -> None:
    mutate, expected = MUTATIONS[name]
    broken = copy.deepcopy(bundle)
    mutate(broken)
    problems = all_problems(broken)
    assert any(expected in p for p in problems), f"{name}: no problem mentions {expected!r}: {problems}"


def test_missing_kuberay_crds_fail_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "KUBERAY", tmp_path / "absent")
    with pytest.raises(pytest.fail.Exception, match="KubeRay CRDs not found"):
        crd_validator("RayCluster", "v1")


def _iter_schema_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _iter_schema_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _iter_schema_objects(value)


def test_strict_schema_keeps_open_maps_open() -> None:
    """Maps (labels, rayStartParams, resources) stay open; only objects with listed properties close."""
    schema = _crd_schemas(kuberay_crd("RayCluster"))["v1"]
    params = schema["properties"]["spec"]["properties"]["headGroupSpec"]["properties"]["rayStartParams"]
    assert params["additionalProperties"] == {"type": "string"}
    closed = [o for o in _iter_schema_objects(schema) if o.get("additionalProperties") is False]
    assert closed and all("properties" in o for o in closed)
    assert json.dumps(schema).count('"nullable"') == 0
