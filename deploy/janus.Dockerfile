# syntax=docker/dockerfile:1
#
# Janus (Debian bookworm's janus 1.1.2, VideoRoom) on the config Alongside generates:
# devtools/janus.py, the same generator the tests use. docker compose --profile groups builds it.
# Secrets come from JANUS_API_SECRET and JANUS_ADMIN_KEY in the environment, never the image.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends janus \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/alongside
COPY devtools/__init__.py devtools/janus.py devtools/ports.py devtools/processes.py devtools/
USER nobody
ENTRYPOINT ["python", "-m", "devtools.janus", "serve", "--config-dir", "/tmp/alongside-janus"]
