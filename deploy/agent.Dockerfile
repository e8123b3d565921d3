# syntax=docker/dockerfile:1
# The edgefleet agent for devices that run containers, arm64 and amd64 from one file:
#   docker buildx build -f deploy/agent.Dockerfile --platform linux/arm64,linux/amd64 \
#       -t REGISTRY/edgefleet/agent:0.1.0 --push .
# The agent is pure Python: the bundle (controller/agents/bundle.py, the same one
# install_agent.yml ships) is built once on the build machine's platform and copied into
# each target platform's image, so no emulated pip run is needed for arm64.
# Run it with the host's view of the device (read-only): see README "Production".
ARG PYTHON_VERSION=3.11

FROM --platform=$BUILDPLATFORM python:${PYTHON_VERSION}-slim-bookworm AS bundle
WORKDIR /src
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY agent ./agent
COPY registry ./registry
RUN pip install --no-cache-dir . \
    && python3 -c "from pathlib import Path; from controller.agents.bundle import build; print(build(Path('/out')))" \
    && mkdir /bundle && tar -xzf /out/edgefleet-agent-*.tar.gz -C /bundle

FROM python:${PYTHON_VERSION}-slim-bookworm
ARG TARGETARCH
LABEL org.opencontainers.image.title="edgefleet-agent" \
      org.opencontainers.image.description="edgefleet device agent (${TARGETARCH})"
COPY --from=bundle /bundle/lib /opt/edgefleet-agent/lib
RUN useradd --system --no-create-home edgeagent \
    && mkdir -p /var/lib/edgefleet-agent \
    && chown edgeagent /var/lib/edgefleet-agent
ENV PYTHONPATH=/opt/edgefleet-agent/lib \
    PYTHONUNBUFFERED=1
USER edgeagent
VOLUME ["/var/lib/edgefleet-agent"]
EXPOSE 9101
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9101/healthz', timeout=4)"]
ENTRYPOINT ["python3", "-m", "agent"]
CMD ["run", "--controller", "http://controller:8080", "--token-file", "/run/secrets/edgefleet_agent_token", "--spool", "/var/lib/edgefleet-agent/spool.db"]
