# One image for the whole platform: the five services (callcenter-routing, -ivr, -crm,
# -workorders, -analytics) and the traffic simulator (callcenter-simulator) share the
# library and most dependencies, so one image is smaller to ship and cache than five;
# each container picks its program with its command (see deploy/compose, deploy/k8s).
# Build: docker build -t callcenter:dev .

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/callcenter
WORKDIR /src
COPY constraints.txt ./
COPY libs/events libs/events
COPY services services
COPY tools/simulator tools/simulator
# Non-editable installs of the library, every service and the simulator, pinned.
RUN /opt/callcenter/bin/pip install --no-cache-dir -c constraints.txt \
        ./libs/events ./services/routing ./services/ivr ./services/crm \
        ./services/workorders ./services/analytics ./tools/simulator

FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PATH=/opt/callcenter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CALLCENTER_DATA_DIR=/var/lib/callcenter
RUN groupadd --system --gid 10001 callcenter \
    && useradd --system --uid 10001 --gid callcenter --home-dir /app --no-create-home callcenter \
    && mkdir -p /var/lib/callcenter \
    && chown callcenter:callcenter /var/lib/callcenter
COPY --from=build /opt/callcenter /opt/callcenter
WORKDIR /app
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8005
CMD ["callcenter-routing", "serve", "--host", "0.0.0.0"]
