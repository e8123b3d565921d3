# syntax=docker/dockerfile:1
# The edgefleet controller: REST API, job runner (Ansible), telemetry ingest, Prometheus SD.
#   docker build -f deploy/controller.Dockerfile -t edgefleet/controller .
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm

# ssh: Ansible's connection to the devices. No compiler: every dependency ships wheels.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/edgefleet
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY agent ./agent
COPY registry ./registry
RUN pip install --no-cache-dir '.[postgres]'

# The project directory the controller runs playbooks from (EDGEFLEET_PROJECT_DIR).
COPY ansible.cfg alembic.ini ./
COPY playbooks ./playbooks
COPY inventory ./inventory

RUN useradd --system --create-home --home-dir /home/edgefleet edgefleet \
    && mkdir -p /var/lib/edgefleet/prometheus /home/edgefleet/.ssh \
    && chown -R edgefleet:edgefleet /var/lib/edgefleet /home/edgefleet
ENV EDGEFLEET_PROJECT_DIR=/opt/edgefleet \
    EDGEFLEET_HOME=/var/lib/edgefleet \
    PYTHONUNBUFFERED=1
USER edgefleet
VOLUME ["/var/lib/edgefleet"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["edgefleet", "controller", "serve", "--host", "0.0.0.0", "--port", "8080"]
