#!/usr/bin/env bash
# `make k8s-check`: render the manifests with kustomize and validate them strictly.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
command -v kubectl >/dev/null || die "kubectl is needed to render the manifests (Debian: apt-get install kubernetes-client)"
venv="$ATES_LOCAL/venv"
if [[ ! -x $venv/bin/kubernetes-validate ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet kubernetes-validate
fi
kubectl kustomize k8s/base >"$ATES_LOCAL/k8s-rendered.yaml"
"$venv/bin/kubernetes-validate" --strict "$ATES_LOCAL/k8s-rendered.yaml"
"$venv/bin/kubernetes-validate" --strict k8s/base/secrets.example.yaml
say "k8s manifests render and validate"
