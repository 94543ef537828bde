# Images of the newsgist server (deploy/README.md has the details):
#
#   docker build -t newsgist:lean .                 # the default (last) target: lean, no libtorch
#   docker build -t newsgist:full --target full .   # default features: libtorch models too
#
# Needs BuildKit (Docker's default builder since 23.0) for the cache mounts. No `# syntax=`
# line on purpose: the built-in Dockerfile frontend is enough, and the build does not have to
# pull one. Both images run as the non-root user 65532 with the binary at
# /usr/local/bin/newsgist, as deploy/*.yaml expect.

# ---------------------------------------------------------------------------------------------
# Lean binary: lexical extractive summaries, key facts, every RPC, Parquet archives; links
# nothing beyond libc.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,id=newsgist-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=newsgist-target-lean,target=/src/target,sharing=locked \
    cargo build --release --no-default-features --features parquet --locked \
    && install -D -m 0755 target/release/newsgist /out/newsgist

# ---------------------------------------------------------------------------------------------
# libtorch for the full build: PyPI's torch wheel (the version tch 0.17 / rust-bert 0.23 are
# built for, as scripts/requirements.txt pins it) in a venv. PyPI's Linux wheel is the CUDA
# build: torch/lib needs the CUDA libraries of the nvidia-* wheels beside it, which it finds
# through its own RPATH ($ORIGIN/../../nvidia/*/lib). So torch/ and nvidia/ are moved together
# into /opt/pytorch, keeping that layout, and pruned to what linking and running need.
# (For a CPU-only image several GB smaller, build with
# --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu; nvidia/ is then empty.)
FROM debian:bookworm-slim AS torch
ARG TORCH_VERSION=2.4.0
ARG TORCH_INDEX_URL=https://pypi.org/simple
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION" \
    && site="$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && mkdir -p /opt/pytorch/nvidia \
    && mv "$site/torch" /opt/pytorch/torch \
    && if [ -d "$site/nvidia" ]; then mv "$site/nvidia"/* /opt/pytorch/nvidia/; fi \
    && rm -rf /opt/venv /opt/pytorch/nvidia/*/include /opt/pytorch/torch/lib/libtorch_python.so \
    && find /opt/pytorch -name __pycache__ -prune -exec rm -rf {} + \
    && test -f /opt/pytorch/torch/lib/libtorch_cpu.so

# ---------------------------------------------------------------------------------------------
# Full binary (default features: torch and parquet): abstractive, semantic and hybrid
# extractive, NER models. LIBTORCH points torch-sys at the wheel's headers and libraries
# (LIBTORCH_CXX11_ABI=0: PyPI's wheels use the pre-C++11 ABI), and build.rs bakes
# `-rpath $LIBTORCH/lib` into the binary.
FROM rust:1.95-bookworm AS build-full
COPY --from=torch /opt/pytorch /opt/pytorch
ENV LIBTORCH=/opt/pytorch/torch \
    LIBTORCH_CXX11_ABI=0
WORKDIR /src
COPY . .
RUN --mount=type=cache,id=newsgist-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=newsgist-target-full,target=/src/target,sharing=locked \
    cargo build --release --locked \
    && install -D -m 0755 target/release/newsgist /out/newsgist

# ---------------------------------------------------------------------------------------------
# What both images share: Debian 12 slim and the non-root user 65532 (numeric in USER, so
# that the kubelet can check runAsNonRoot).
FROM debian:bookworm-slim AS runtime
RUN groupadd --system --gid 65532 newsgist \
    && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin newsgist
EXPOSE 50051 9464

# ---------------------------------------------------------------------------------------------
# `--target full`: the full binary with libtorch. libtorch is found through the binary's
# rpath (no LD_LIBRARY_PATH): it sits in the image at the path it was linked against,
# /opt/pytorch/torch/lib, with the CUDA libraries in /opt/pytorch/nvidia. The CUDA build runs
# on CPU nodes too; on GPU nodes (NVIDIA container runtime) pass --device cuda:0.
FROM runtime AS full
COPY --from=torch /opt/pytorch/torch/lib /opt/pytorch/torch/lib
COPY --from=torch /opt/pytorch/nvidia /opt/pytorch/nvidia
COPY --from=build-full /out/newsgist /usr/local/bin/newsgist
# Fail the build, not the pod, when a library does not resolve.
RUN if ldd /usr/local/bin/newsgist | grep 'not found'; then exit 1; fi \
    && newsgist --version
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 65532:65532
ENTRYPOINT ["newsgist"]
CMD ["serve", "--listen", "0.0.0.0:50051"]

# ---------------------------------------------------------------------------------------------
# The default target (last stage): the lean binary.
FROM runtime AS lean
COPY --from=build /out/newsgist /usr/local/bin/newsgist
RUN newsgist --version
USER 65532:65532
ENTRYPOINT ["newsgist"]
CMD ["serve", "--listen", "0.0.0.0:50051"]
