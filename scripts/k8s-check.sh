#!/usr/bin/env bash
# `make k8s-check`: the Helm chart k8s/ates rendered and linted (strict) by the real Helm engine,
# with the default values and every example; every rendered object validated strictly against the
# Kubernetes schemas of each supported version; the chart's promises asserted from the rendered
# objects (k8s/tests). The tools are pinned in k8s/requirements.txt, in a project-local venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
venv="$ATES_LOCAL/venv"
stamp="$venv/.k8s-requirements"
if [[ ! -f $stamp ]] || ! cmp -s k8s/requirements.txt "$stamp"; then
  say "installing the chart's tools into $venv (k8s/requirements.txt)"
  if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv" 2>/dev/null || {
      rm -rf "$venv"
      ensure_packages python3-venv
      python3 -m venv "$venv"
    }
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-virtualenv -r k8s/requirements.txt
  cp k8s/requirements.txt "$stamp"
fi
"$venv/bin/python" -m pytest -q -p no:cacheprovider k8s/tests
say "the Helm chart renders, lints and validates"
