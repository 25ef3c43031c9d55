# tfew on an NVIDIA GPU: Node 20 + @tensorflow/tfjs-node-gpu 4.22.0 (TFEW_BACKEND=tensorflow).
#
# Base: tfjs-node-gpu 4.22 wraps libtensorflow 2.9.1, built for CUDA 11.2 + cuDNN 8.1. tensorflow/tensorflow:2.9.1-gpu
# is TF 2.9.1's own runtime image, so it ships exactly those libraries, and Docker Hub keeps it, while NVIDIA
# deletes end-of-life nvidia/cuda tags (the 11.2 ones are gone). The alternative, Ubuntu + CUDA 11 pip wheels, needs
# LD_LIBRARY_PATH pointed into site-packages for every library. Cost: the unused Python TF (~2 GB) comes along.
# The host needs an NVIDIA driver >= 460 (CUDA 11.2) and the NVIDIA container toolkit.
#
#   docker build -t tfew .
#   docker run --rm --gpus all -v ~/.cache/huggingface:/hf -v "$PWD/runs:/runs" tfew \
#     train --config configs/flan-t5-base.yaml --set data.path=raft:twitter_complaints --out /runs/flan-base
#
# Build-time downloads: npm registry, plus storage.googleapis.com (libtensorflow 2.9.1 GPU and the prebuilt
# tfjs-node-gpu addon, fetched by its install script).

ARG NODE_VERSION=20.20.2

# Node from the official image: the unpacked official nodejs.org linux-x64 tarball, GPG-checked by that image's
# build (glibc 2.28+ binary; runs on the base's Ubuntu 20.04), with no apt or curl needed here.
FROM node:${NODE_VERSION}-bookworm-slim AS node-dist

FROM tensorflow/tensorflow:2.9.1-gpu AS base
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
FROM base AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts \
    && npm install --no-save --omit=dev --omit=optional @tensorflow/tfjs-node-gpu@4.22.0 \
    && ls node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so* \
          node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node \
    && npm cache clean --force

# dist/ from TypeScript (needs the dev dependencies).
FROM base AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM base AS runtime
WORKDIR /app
# Non-root; UID 1000 so a bind-mounted ./runs stays owned by the usual first host user.
RUN useradd --no-log-init --create-home --uid 1000 --shell /bin/bash tfew \
    && mkdir -p /hf /runs \
    && chown tfew:tfew /hf /runs
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY configs ./configs
COPY data ./data
RUN chmod 0755 bin/tfew.js && ln -s /app/bin/tfew.js /usr/local/bin/tfew
# TF 2.9.1 has SASS up to sm_80; on newer GPUs (H100, sm_90) the driver JIT-compiles its PTX at start-up. The
# default 256 MiB CUDA cache cannot hold it; 4 GiB (the maximum) on the /hf volume makes that a one-time cost.
ENV HF_HOME=/hf TFEW_BACKEND=tensorflow NODE_ENV=production \
    CUDA_CACHE_MAXSIZE=4294967296 CUDA_CACHE_PATH=/hf/cuda-compute-cache
VOLUME ["/hf", "/runs"]
USER tfew
ENTRYPOINT ["tfew"]
CMD ["--help"]
