#!/usr/bin/env bash
# Install what the benchmark needs beyond scripts/setup.sh; fast when nothing changed.
#   - bench/requirements.txt into .venv (matplotlib, for the chart)
#   - bench/node_modules from package-lock.json (socket.io-client and ws for the load generator,
#     socket.io for N0) with `npm ci`
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf 'bench setup: %s\n' "$*" >&2; }

stamp=.venv/.installed-bench
if [[ ! -f $stamp || bench/requirements.txt -nt $stamp ]]; then
  log "pip install -r bench/requirements.txt"
  .venv/bin/python -m pip install --disable-pip-version-check -q -r bench/requirements.txt
  touch "$stamp"
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "node and npm are required for the load generator (bench/loadgen/gen.js)"
  exit 1
fi
marker=bench/node_modules/.package-lock.json
if [[ ! -f $marker || bench/package-lock.json -nt $marker ]]; then
  log "npm ci in bench/"
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi
