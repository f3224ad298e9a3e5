# SafeCity's container image, for the KubeRay manifests in cluster/k8s/ (README, "Kubernetes (KubeRay)").
#   docker build -t registry.example.com/safecity:0.1.0 .                            # head and CPU workers
#   docker build --build-arg EXTRAS=gpu -t registry.example.com/safecity:0.1.0-gpu .  # GPU workers
# The model weights are pulled and verified at build time (network needed then, not at run time): every
# node finds them in MODEL_CACHE, the ConfigMap's models.cache_dir, with models.auto_pull off.
FROM python:3.11-slim

ARG EXTRAS=""
ARG MODEL_CACHE=/opt/safecity/models

# OpenCV (opencv-python, which ultralytics installs) loads libGL and GLib when imported.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

# The pods run as this user (runAsUser and fsGroup 1000 in cluster/k8s/20-raycluster.yaml).
RUN useradd --create-home --uid 1000 --user-group ray

# SafeCity with its pinned dependencies (pyproject.toml); ray[serve] gives the `ray` CLI KubeRay runs.
# The gpu extra's onnxruntime-gpu installs the same module as the CPU wheel: reinstalled last so its
# files win (README, Models).
COPY pyproject.toml setup.py MANIFEST.in README.md /tmp/safecity/
COPY cluster /tmp/safecity/cluster
COPY actors /tmp/safecity/actors
COPY serve /tmp/safecity/serve
COPY assets /tmp/safecity/assets
COPY examples /tmp/safecity/examples
RUN pip install --no-cache-dir "/tmp/safecity${EXTRAS:+[$EXTRAS]}" \
    && if [ "$EXTRAS" = "gpu" ]; then \
         pip install --no-cache-dir --force-reinstall --no-deps onnxruntime-gpu==1.31.1; \
       fi \
    && rm -rf /tmp/safecity

# The pinned weights, checked against their SHA-256, the plate detector's ONNX export and the int8
# detectors, made once here instead of on every node.
RUN mkdir -p "$MODEL_CACHE" \
    && printf 'models: {cache_dir: %s}\n' "$MODEL_CACHE" > /tmp/pull.yaml \
    && safecity --config /tmp/pull.yaml models pull \
    && safecity --config /tmp/pull.yaml models list \
    && rm /tmp/pull.yaml \
    && chown -R 1000:1000 "$MODEL_CACHE"

ENV PYTHONUNBUFFERED=1
USER 1000:1000
WORKDIR /home/ray
