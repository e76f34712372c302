#!/usr/bin/env bash
# Create or refresh everything the server (and, with --test, the test suite) needs.
#
#   scripts/setup.sh          .venv with `pip install -e .` + vendored socket.io client
#   scripts/setup.sh --test   also `.[test]` extras, Debian chromium, redis-server, coturn, nginx, npm,
#                             janus, and tests/node_modules (axe-core, injected by the a11y tests only)
#
# Idempotent and fast when nothing changed: it runs before every `make run` / `make test`.
# pip runs only when pyproject.toml is newer than .venv/.installed-<mode>; apt and npm run only
# when something is missing.
set -euo pipefail

SOCKETIO_CLIENT_VERSION=4.8.1
# `npm view socket.io-client@4.8.1 dist.integrity`. Keep both in sync with the Dockerfile ARGs.
SOCKETIO_CLIENT_INTEGRITY="sha512-hJVXfu3E28NmzGk8o1sHhN3om52tRvwYeidbj7xKy2eIIse5IoKX3USlS6Tqt3BHAtflLIkCQBkzVrEEfWUyYQ=="

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

mode=run
for arg in "$@"; do
  case "$arg" in
    --test) mode=test ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf 'setup: %s\n' "$*" >&2; }

# ---- privileges for apt ---------------------------------------------------------------------
SUDO=()
if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  fi
fi

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "need Debian packages ($*) but apt-get is not available; install them by hand"
    exit 1
  fi
  if [[ $EUID -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
    log "need Debian packages ($*) but not root and no sudo; install them by hand"
    exit 1
  fi
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update -q
    apt_updated=1
  fi
  log "apt-get install $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@"
}

# Our tests start their own turnserver on free ports; the packaged service must not be running.
stop_coturn_service() { stop_service coturn; }

# Debian starts the daemons it installs (where it may); the tests start their own on free ports.
stop_service() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl disable --now "$1" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    "${SUDO[@]}" service "$1" stop >/dev/null 2>&1 || true
  elif [[ -x "/etc/init.d/$1" ]]; then
    "${SUDO[@]}" "/etc/init.d/$1" stop >/dev/null 2>&1 || true
  fi
}

# ---- system packages (test mode) ------------------------------------------------------------
if [[ $mode == test ]]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # tests/test_cluster.py runs nginx in the foreground on deploy/nginx.conf (nginx lives in sbin).
  command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  # tests/test_metrics.py runs Prometheus on deploy/prometheus/prometheus.yml against the replicas.
  prometheus_missing=0
  if ! command -v prometheus >/dev/null 2>&1; then
    missing+=(prometheus)
    prometheus_missing=1
  fi
  # tests/test_group_sfu.py starts its own janus (devtools/janus.py) on a generated config; the
  # packaged service would listen on 8088/8188 with the sample config's secrets.
  janus_missing=0
  if ! command -v janus >/dev/null 2>&1 && [[ ! -x /usr/bin/janus ]]; then
    missing+=(janus)
    janus_missing=1
  fi
  coturn_missing=0
  if ! command -v turnserver >/dev/null 2>&1; then
    missing+=(coturn)
    coturn_missing=1
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    apt_install "${missing[@]}"
    if [[ $coturn_missing -eq 1 ]]; then
      stop_coturn_service
    fi
    if [[ $prometheus_missing -eq 1 ]]; then
      stop_service prometheus
    fi
    if [[ $janus_missing -eq 1 ]]; then
      stop_service janus
    fi
  fi
fi

# ---- virtualenv -----------------------------------------------------------------------------
if [[ -x .venv/bin/python ]] && ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  log ".venv is broken (python3 changed?); recreating"
  rm -rf .venv
fi
if [[ ! -x .venv/bin/python ]]; then
  if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  log "creating .venv"
  python3 -m venv .venv
fi

stamp=".venv/.installed-$mode"
needs_install=1
if [[ -f $stamp && ! pyproject.toml -nt $stamp ]]; then
  needs_install=0
elif [[ $mode == run && -f .venv/.installed-test && ! pyproject.toml -nt .venv/.installed-test ]]; then
  needs_install=0  # the test install is a superset
fi
if [[ $needs_install -eq 1 ]]; then
  spec="."
  if [[ $mode == test ]]; then spec=".[test]"; fi
  log "pip install -e '$spec'"
  .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
  .venv/bin/python -m pip install --disable-pip-version-check -q -e "$spec"
  touch "$stamp"
fi

# ---- vendored socket.io browser client ------------------------------------------------------
vendor=web/vendor
if [[ ! -f $vendor/socket.io.esm.min.js ]]; then
  log "vendoring socket.io-client@$SOCKETIO_CLIENT_VERSION into $vendor/"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  tgz="$tmp/socket.io-client-$SOCKETIO_CLIENT_VERSION.tgz"
  if command -v npm >/dev/null 2>&1; then
    (cd "$tmp" && npm pack --silent "socket.io-client@$SOCKETIO_CLIENT_VERSION" >/dev/null)
  else
    # No node here: fetch the same tarball straight from the npm registry.
    python3 - "$tgz" "$SOCKETIO_CLIENT_VERSION" <<'PY'
import sys, urllib.request
dest, ver = sys.argv[1], sys.argv[2]
url = f"https://registry.npmjs.org/socket.io-client/-/socket.io-client-{ver}.tgz"
with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
    f.write(r.read())
PY
  fi
  [[ -f $tgz ]] || { log "npm pack did not produce $tgz"; exit 1; }
  got="sha512-$(python3 -c 'import base64, hashlib, sys
print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tgz")"
  if [[ $got != "$SOCKETIO_CLIENT_INTEGRITY" ]]; then
    log "integrity mismatch for $tgz: got $got"
    exit 1
  fi
  tar -xzf "$tgz" -C "$tmp"
  src="$tmp/package/dist/socket.io.esm.min.js"
  if ! grep -q 'export' "$src" || ! grep -Eq 'export *\{[^}]*\bio\b' "$src"; then
    log "$src does not look like an ES module exporting io"
    exit 1
  fi
  mkdir -p "$vendor"
  if [[ -f $src.map ]]; then cp "$src.map" "$vendor/socket.io.esm.min.js.map"; fi
  cp "$tmp/package/LICENSE" "$vendor/LICENSE.socket.io-client"
  cp "$src" "$vendor/socket.io.esm.min.js.part"
  mv "$vendor/socket.io.esm.min.js.part" "$vendor/socket.io.esm.min.js"  # last: it is the marker
fi

# ---- test-only browser tooling (axe-core) ----------------------------------------------------
# Pages never load it: tests/test_browser_a11y.py injects it into the page under test.
if [[ $mode == test ]]; then
  marker=tests/node_modules/.package-lock.json
  if [[ ! -f $marker || tests/package-lock.json -nt $marker ]]; then
    log "npm ci --prefix tests"
    npm ci --prefix tests --no-audit --no-fund --loglevel=error
  fi
fi
