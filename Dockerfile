# One image for every mec5g role; the command chooses the role (the entrypoint is `mec5g`):
#   ttp serve | ttp migrate | mec serve | ue serve | k8s create-if-absent | k8s enrol
#
# BASE_IMAGE: a Debian-like image with python3 (3.11 or later) and its venv module; both stages
# use it, so the virtual environment's interpreter link stays valid. The default is the public
# slim Python image; scripts/build-base-image makes one with debootstrap where no container
# registry is reachable.
# PIP_INSTALL_ARGS: extra pip options, e.g. "--no-index --find-links /src/.wheelhouse" to install
# from wheels prepared beside the sources (scripts/image-test does so).
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ARG PIP_INSTALL_ARGS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/mec5g
COPY . /src
# pip is only needed to build the environment: the final stage gets the environment without it.
RUN /opt/mec5g/bin/pip install ${PIP_INSTALL_ARGS} /src \
    && /opt/mec5g/bin/pip uninstall --yes pip

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 mec5g \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/mec5g --no-create-home \
        --shell /usr/sbin/nologin mec5g \
    && mkdir -p /var/lib/mec5g \
    && chown mec5g:mec5g /var/lib/mec5g \
    && chmod 0700 /var/lib/mec5g
COPY --from=build /opt/mec5g /opt/mec5g
# No bytecode written at run time: the root filesystem is read-only in the cluster.
ENV PATH=/opt/mec5g/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/mec5g
# gRPC: TTP 50051, MEC 50052, UE control 50053; Prometheus metrics 9151-9153.
EXPOSE 50051 50052 50053 9151 9152 9153
ENTRYPOINT ["mec5g"]
CMD ["--help"]
