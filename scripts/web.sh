#!/usr/bin/env bash
# Builds the web app (web/dist) when it is missing or older than its sources: npm packages from
# the lock file, clients generated from proto/, a type check, the bundle. `make web`; `make up`
# and `make test` call it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT/web"
command -v npm >/dev/null || die "npm is missing (Node 20 or newer builds the web app)"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing the web app's packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
newest_source=$(find src index.html build.mjs buf.gen.yaml package-lock.json ../proto/ates -type f \
  -not -path 'src/gen/*' -newer dist/index.html 2>/dev/null | head -n 1 || true)
if [[ ! -f dist/index.html || -n $newest_source ]]; then
  say "building the web app (web/dist)"
  npm run --silent build
fi
