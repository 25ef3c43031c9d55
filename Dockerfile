# tfew on an NVIDIA GPU: Node 20 + @tensorflow/tfjs-node-gpu 4.22.0 (TFEW_BACKEND=tensorflow). Two targets:
#
#   docker build -t tfew .                              # cuda11 (default): TF 2.9.1, CUDA 11.2, cuDNN 8.1; up to Ampere
#   docker build --target cuda12 -t tfew:cuda12 .       # cuda12: TF 2.21 from pip tensorflow[and-cuda] (CUDA 12.5+,
#                                                       # cuDNN 9); Hopper, Ada, Ampere. NOT RUN YET (see its stage)
#   docker build --target cuda12-tf215 -t tfew:cuda12 . # the earlier recipe: libtensorflow 2.15 (CUDA 12.2, cuDNN 8.9)
#   docker run --rm --gpus all -v ~/.cache/huggingface:/hf -v "$PWD/runs:/runs" tfew:cuda12 \
#     train --config configs/flan-t5-base.yaml --set data.path=raft:twitter_complaints --out /runs/flan-base
#   docker run --rm --gpus all -v "$PWD/runs:/runs" --entrypoint scripts/gpu-check.sh tfew:cuda12 /runs/gpu-check
#
# cuda11 base: tfjs-node-gpu 4.22 wraps libtensorflow 2.9.1, built for CUDA 11.2 + cuDNN 8.1.
# tensorflow/tensorflow:2.9.1-gpu is TF 2.9.1's own runtime image, so it ships exactly those libraries, and Docker
# Hub keeps it, while NVIDIA deletes end-of-life nvidia/cuda tags (the 11.2 ones are gone). Cost: the unused Python
# TF (~2 GB) comes along. Host: NVIDIA driver >= 460 (CUDA 11.2) and the NVIDIA container toolkit.
#
# cuda12-tf215: the same addon over libtensorflow 2.15.0's GPU build (TF's C API is stable across 2.x; the addon links
# libtensorflow.so.2; users have swapped it by hand, tfjs issues #571 / #3490), on nvidia/cuda's CUDA 12.2 + cuDNN 8.9
# runtime, the versions TF 2.15 was built with. Host: driver >= 535 (CUDA 12.2; 525.60+ through CUDA 12's minor
# version compatibility).
#
# Build-time downloads: npm registry; storage.googleapis.com (libtensorflow 2.9.1 GPU and the prebuilt addon, fetched
# by tfjs-node-gpu's install script; cuda12-tf215 also libtensorflow 2.15.0, checked against its SHA-256 below);
# cuda12: npm registry, the Python package index (tensorflow[and-cuda] and NVIDIA's CUDA wheels) and Ubuntu's apt.

ARG NODE_VERSION=20.20.2
ARG CUDA12_BASE=nvidia/cuda:12.2.2-cudnn8-runtime-ubuntu22.04
ARG UBUNTU_BASE=ubuntu:22.04
ARG TF_VERSION=2.21.0
ARG LIBTENSORFLOW_VERSION=2.15.0
ARG LIBTENSORFLOW_SHA256=adefd913b88c042b8561d5c888bf7a1ea87c64bf5b8f40dbd07469f30ce763ff

# Node from the official image: the unpacked official nodejs.org linux-x64 tarball, GPG-checked by that image's
# build (glibc 2.28+ binary; runs on Ubuntu 20.04 and 22.04), with no apt or curl needed here.
FROM node:${NODE_VERSION}-bookworm-slim AS node-dist

# dist/ from TypeScript (plain JavaScript: the same for both targets).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tfjs-core's gradient and chained-op registrations, bundled into dist/ (src/backend/tf.ts imports them)
COPY scripts/build-tfjs-registrations.js ./scripts/
RUN npx tsc -p tsconfig.build.json && node scripts/build-tfjs-registrations.js

# ---------------------------------------------------------------- cuda12 (docker build --target cuda12)
# tfjs-node 4.22's binding compiled here (scripts/tfjs-node-tensorflow.sh) against the C API in pip's
# tensorflow[and-cuda] 2.21.0: libtensorflow_cc.so.2 built for CUDA 12 with Hopper (sm_90) kernels; CUDA 12.5+,
# cuDNN 9, cuBLAS, NCCL come as NVIDIA's pip wheels, so the base is plain Ubuntu and no nvidia/cuda tag can vanish.
# Host: an NVIDIA driver for CUDA 12.5 (>= 555; older 12.x drivers >= 525.60 only through CUDA's minor-version
# compatibility) and the NVIDIA container toolkit.
# NOT RUN: it was written on a host without a Docker engine or a GPU; the same script and CPU wheel were built and
# tested there (docs/tensorflow-backend.md). Unverified: that the pip CUDA libraries are found from deps/lib (the
# ld.so.conf.d entry below is meant for that) and that the binding then reports isUsingGpuDevice.
FROM ${UBUNTU_BASE} AS cuda12-base
COPY --from=node-dist /usr/local/bin/node /usr/local/bin/node
COPY --from=node-dist /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
# the nvidia/cuda images set these for the container toolkit; a plain base has to
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility

# Python only to fetch TensorFlow and the CUDA wheels; build-essential for node-gyp; node's headers beside node so
# node-gyp needs no download. The NVIDIA libraries move to /opt/nvidia and into the loader's cache first (TensorFlow's
# RUNPATH points into the pip layout its libraries are copied out of; see the final stage). The script then copies
# libtensorflow_cc.so.2 + libtensorflow_framework.so.2 into tfjs-node's deps/lib, compiles, checks ldd and one op,
# and installs tfjs-node into node_modules; its cache is dropped in the same layer.
FROM cuda12-base AS cuda12-deps
ARG TF_VERSION
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       python3 python3-venv build-essential ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=node-dist /usr/local/include/node /usr/local/include/node
RUN python3 -m venv /opt/tf && /opt/tf/bin/pip install --no-cache-dir "tensorflow[and-cuda]==${TF_VERSION}" \
    && site=$(/opt/tf/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    && mv "$site/nvidia" /opt/nvidia \
    && find /opt/nvidia -mindepth 2 -maxdepth 2 -type d -name lib > /etc/ld.so.conf.d/tfew-nvidia-pip.conf \
    && ldconfig
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts && npm cache clean --force
COPY scripts/tfjs-node-tensorflow.sh ./scripts/
RUN site=$(/opt/tf/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    && TFEW_CACHE_DIR=/tmp/tfew-cache TFEW_VERBOSE=1 \
       scripts/tfjs-node-tensorflow.sh --libtensorflow "$site/tensorflow" \
    && rm -rf /tmp/tfew-cache \
    && npm cache clean --force

FROM cuda12-base AS cuda12
WORKDIR /app
# TensorFlow loads CUDA by soname; its RUNPATH points into the pip layout it was copied out of, so the NVIDIA
# wheels' lib folders go into the loader's cache instead (no LD_LIBRARY_PATH, and apptainer keeps it)
COPY --from=cuda12-deps /opt/nvidia /opt/nvidia
COPY --from=cuda12-deps /etc/ld.so.conf.d/tfew-nvidia-pip.conf /etc/ld.so.conf.d/
RUN ldconfig \
    && useradd --no-log-init --create-home --uid 1000 --shell /bin/bash tfew \
    && mkdir -p /hf /runs /app/bench-results \
    && chown tfew:tfew /hf /runs /app/bench-results
COPY --from=cuda12-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY configs ./configs
COPY data ./data
COPY scripts/gpu-check.sh scripts/gpu-check-summary.js scripts/torch_reference.py ./scripts/
COPY tests/fixtures/hf-reference/t5-tiny-gated ./tests/fixtures/hf-reference/t5-tiny-gated
RUN chmod 0755 bin/tfew.js scripts/gpu-check.sh && ln -s /app/bin/tfew.js /usr/local/bin/tfew
# ptxas (nvidia-cuda-nvcc wheel) on PATH: TensorFlow looks for it where it JIT-compiles GPU code (XLA)
ENV HF_HOME=/hf TFEW_BACKEND=tensorflow NODE_ENV=production PATH=/opt/nvidia/cuda_nvcc/bin:$PATH \
    CUDA_CACHE_MAXSIZE=4294967296 CUDA_CACHE_PATH=/hf/cuda-compute-cache
VOLUME ["/hf", "/runs"]
USER tfew
ENTRYPOINT ["tfew"]
CMD ["--help"]

# ---------------------------------------------------------------- cuda12-tf215 (docker build --target cuda12-tf215)
FROM ${CUDA12_BASE} AS cuda12-tf215-base
COPY --from=node-dist /usr/local/bin/node /usr/local/bin/node
COPY --from=node-dist /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# tfjs-node-gpu installs as usual (its script fetches libtensorflow 2.9.1 and the prebuilt N-API addon), then deps/
# is replaced by libtensorflow 2.15.0's GPU build: deps/lib/libtensorflow.so.2 (+ _framework) is what the addon
# loads (rpath $ORIGIN/../../deps/lib). The last line loads the addon to prove the swap links.
FROM cuda12-tf215-base AS cuda12-tf215-deps
ARG LIBTENSORFLOW_VERSION
ARG LIBTENSORFLOW_SHA256
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts \
    && npm install --no-save --omit=dev --omit=optional @tensorflow/tfjs-node-gpu@4.22.0 \
    && node -e 'const [url, file] = process.argv.slice(1); fetch(url).then(async (r) => { if (!r.ok) throw new Error(`HTTP ${r.status}: ${url}`); await require("node:stream/promises").pipeline(require("node:stream").Readable.fromWeb(r.body), require("node:fs").createWriteStream(file)); })' \
         "https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-${LIBTENSORFLOW_VERSION}.tar.gz" /tmp/libtensorflow.tar.gz \
    && echo "${LIBTENSORFLOW_SHA256}  /tmp/libtensorflow.tar.gz" | sha256sum -c - \
    && cd node_modules/@tensorflow/tfjs-node-gpu/deps \
    && rm -rf lib include \
    && tar -xzf /tmp/libtensorflow.tar.gz \
    && rm /tmp/libtensorflow.tar.gz \
    && readlink -f lib/libtensorflow.so.2 | grep -q "libtensorflow.so.${LIBTENSORFLOW_VERSION}$" \
    && cd /app \
    && ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node \
    && node -e 'require("@tensorflow/tfjs-node-gpu"); console.log("tfjs-node-gpu loads over", require("node:fs").realpathSync("node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so.2"))' \
    && npm cache clean --force

FROM cuda12-tf215-base AS cuda12-tf215
WORKDIR /app
# Non-root; UID 1000 so a bind-mounted ./runs stays owned by the usual first host user.
RUN useradd --no-log-init --create-home --uid 1000 --shell /bin/bash tfew \
    && mkdir -p /hf /runs /app/bench-results \
    && chown tfew:tfew /hf /runs /app/bench-results
COPY --from=cuda12-tf215-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY configs ./configs
COPY data ./data
COPY scripts/gpu-check.sh scripts/gpu-check-summary.js scripts/torch_reference.py ./scripts/
COPY tests/fixtures/hf-reference/t5-tiny-gated ./tests/fixtures/hf-reference/t5-tiny-gated
RUN chmod 0755 bin/tfew.js scripts/gpu-check.sh && ln -s /app/bin/tfew.js /usr/local/bin/tfew
ENV HF_HOME=/hf TFEW_BACKEND=tensorflow NODE_ENV=production \
    CUDA_CACHE_MAXSIZE=4294967296 CUDA_CACHE_PATH=/hf/cuda-compute-cache
VOLUME ["/hf", "/runs"]
USER tfew
ENTRYPOINT ["tfew"]
CMD ["--help"]

# ---------------------------------------------------------------- cuda11 (the default target: keep it last)
FROM tensorflow/tensorflow:2.9.1-gpu AS cuda11-base
COPY --from=node-dist /usr/local/bin/node /usr/local/bin/node
COPY --from=node-dist /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
COPY --from=node-dist /usr/local/include/node /usr/local/include/node
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version && npm --version
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app

# Runtime node_modules. --ignore-scripts skips the root "prepare" (tsc: dist/ comes from the build stage) and
# install scripts nobody needs at run time; tfjs-node-gpu is then added WITH its script (it downloads
# libtensorflow). --omit=optional drops webgpu/Dawn: without a Vulkan driver in the container it cannot work.
# Its addon is prebuilt; the node-gyp fallback uses the base image's build-essential and python3.
FROM cuda11-base AS cuda11-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts \
    && npm install --no-save --omit=dev --omit=optional @tensorflow/tfjs-node-gpu@4.22.0 \
    && ls node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so* \
          node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node \
    && npm cache clean --force

FROM cuda11-base AS cuda11
WORKDIR /app
RUN useradd --no-log-init --create-home --uid 1000 --shell /bin/bash tfew \
    && mkdir -p /hf /runs /app/bench-results \
    && chown tfew:tfew /hf /runs /app/bench-results
COPY --from=cuda11-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY configs ./configs
COPY data ./data
COPY scripts/gpu-check.sh scripts/gpu-check-summary.js scripts/torch_reference.py ./scripts/
COPY tests/fixtures/hf-reference/t5-tiny-gated ./tests/fixtures/hf-reference/t5-tiny-gated
RUN chmod 0755 bin/tfew.js scripts/gpu-check.sh && ln -s /app/bin/tfew.js /usr/local/bin/tfew
# TF 2.9.1 has SASS up to sm_80; on newer GPUs (H100, sm_90) the driver JIT-compiles its PTX at start-up. The
# default 256 MiB CUDA cache cannot hold it; 4 GiB (the maximum) on the /hf volume makes that a one-time cost.
ENV HF_HOME=/hf TFEW_BACKEND=tensorflow NODE_ENV=production \
    CUDA_CACHE_MAXSIZE=4294967296 CUDA_CACHE_PATH=/hf/cuda-compute-cache
VOLUME ["/hf", "/runs"]
USER tfew
ENTRYPOINT ["tfew"]
CMD ["--help"]
