# syntax=docker/dockerfile:1
#
# Alongside server image.  docker build -t alongside .
# Keep the socket.io-client pin in sync with scripts/setup.sh.

ARG SOCKETIO_CLIENT_VERSION=4.8.1
ARG SOCKETIO_CLIENT_INTEGRITY=sha512-hJVXfu3E28NmzGk8o1sHhN3om52tRvwYeidbj7xKy2eIIse5IoKX3USlS6Tqt3BHAtflLIkCQBkzVrEEfWUyYQ==

# ---- stage 1: fetch socket.io's browser client (node is not in python:slim) ------------------
FROM node:20-slim AS vendor
ARG SOCKETIO_CLIENT_VERSION
ARG SOCKETIO_CLIENT_INTEGRITY
WORKDIR /tmp/socketio
RUN set -eu; \
    npm pack --silent "socket.io-client@${SOCKETIO_CLIENT_VERSION}" >/dev/null; \
    tgz="socket.io-client-${SOCKETIO_CLIENT_VERSION}.tgz"; \
    node -e 'const [f, want] = process.argv.slice(1); \
      const got = "sha512-" + require("crypto").createHash("sha512") \
        .update(require("fs").readFileSync(f)).digest("base64"); \
      if (got !== want) { console.error("integrity mismatch: " + got); process.exit(1); }' \
      "$tgz" "$SOCKETIO_CLIENT_INTEGRITY"; \
    tar -xzf "$tgz"; \
    grep -Eq 'export *\{[^}]*\bio\b' package/dist/socket.io.esm.min.js; \
    mkdir -p /out; \
    cp package/dist/socket.io.esm.min.js /out/; \
    if [ -f package/dist/socket.io.esm.min.js.map ]; then \
      cp package/dist/socket.io.esm.min.js.map /out/; fi; \
    cp package/LICENSE /out/LICENSE.socket.io-client

# ---- stage 2: the server ---------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ALONGSIDE_HOST=0.0.0.0 \
    ALONGSIDE_VAR_DIR=/data \
    PYTHONPATH=/app

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin alongside \
 && mkdir -p /data \
 && chown alongside:alongside /data

WORKDIR /app
COPY . /app
# `pip install .` brings the dependencies and the `alongside` script. PYTHONPATH=/app makes the
# script import `server` from /app rather than site-packages, because Settings.web_dir is found
# relative to the server package (server/../web) and web/ is not part of the wheel.
RUN pip install . \
 && rm -rf /app/build /app/*.egg-info
COPY --from=vendor /out/ /app/web/vendor/

USER alongside
# ALONGSIDE_VAR_DIR=/data: the default store is sqlite:////data/alongside.db (absolute path).
VOLUME ["/data"]
EXPOSE 8080
CMD ["alongside", "serve"]
