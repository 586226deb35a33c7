# The server and its engine workers in one image: `addin-server serve` (the web tier) or `addin-server worker`.
#   CPU (default):  docker build -t m365-image-addin .
#   CUDA:           docker build -t m365-image-addin:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
#   web tier only:  docker build -t m365-image-addin:web --build-arg TIER=web .
# The embedded default model is part of the package, so the image serves it with no download.
FROM python:3.11-slim

# Where pip finds torch: the CPU build by default; a CUDA index for a GPU worker image.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# `web`: the web tier of a scaled-out server, without the ML stack (requirements-web.txt); `all`: everything.
ARG TIER=all

WORKDIR /src
COPY . /src
RUN if [ "${TIER}" = "web" ]; then \
        pip install --no-cache-dir -r requirements-web.txt && pip install --no-cache-dir --no-deps . ; \
    else \
        pip install --no-cache-dir --extra-index-url "${TORCH_INDEX}" "torch==2.13.0" . ; \
    fi \
    && useradd --create-home --uid 1000 addin \
    && mkdir -p /data/instance /data/shared-images \
    && chown -R addin /data

USER addin
WORKDIR /data
ENV HF_HUB_OFFLINE=1 \
    SERVER_INSTANCE_PATH=/data/instance \
    ENGINE_SHARED_DIR=/data/shared-images

ENTRYPOINT ["addin-server"]
CMD ["serve"]
