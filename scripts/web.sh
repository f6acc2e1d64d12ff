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
# Rebuilt when a source is newer than the last build, or a source was added or removed since.
sources=$(find src index.html build.mjs buf.gen.yaml package.json package-lock.json tsconfig.json \
  ../proto/buf.yaml ../proto/ates -type f -not -path 'src/gen/*' 2>/dev/null | sort)
newest_source=$(find $sources -newer dist/index.html 2>/dev/null | head -n 1 || true)
if [[ ! -f dist/index.html || -n $newest_source || $sources != "$(cat .build-sources 2>/dev/null)" ]]; then
  say "building the web app (web/dist)"
  npm run --silent build
  printf "%s" "$sources" >.build-sources
fi
