#!/usr/bin/env bash
# Builds helm v3 from the Go module proxy and caches it by version, next to kube-apiserver and etcd
# (see test/e2e/env/build-binaries.sh). A second run with the same version builds nothing.
#
#   HELM_VERSION          (default v3.22.0) release of helm.sh/helm/v3; the newest v3 the proxy
#                         serves whose go.mod (go 1.26.0) this machine's Go can build
#   INFRA_OPERATOR_CACHE  (default ${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator)
#
# Prints the path of the helm binary on its last line.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${INFRA_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator}"
# GOTOOLCHAIN=local: fail with a clear message instead of silently downloading another Go.
export CGO_ENABLED=0 GOTOOLCHAIN=local

log() { echo "build-helm: $*" >&2; }

command -v go >/dev/null || { log "Go is required to build helm"; exit 1; }

bin_dir="$CACHE/bin/helm-$HELM_VERSION"
helm="$bin_dir/helm"

if [ ! -x "$helm" ]; then
  start=$(date +%s)
  mkdir -p "$bin_dir"
  # helm's go.mod has no replace directives, so `go install pkg@version` builds it as released;
  # a throwaway module would only be needed if that changed.
  mod_file="$(cd "$bin_dir" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$mod_file" ] || { log "could not read go.mod of helm.sh/helm/v3@$HELM_VERSION"; exit 1; }
  if grep -q '^replace\b' "$mod_file"; then
    log "helm.sh/helm/v3@$HELM_VERSION has replace directives; go install cannot build it"
    exit 1
  fi
  # As helm's own Makefile does: the Kubernetes version that `helm template` and `helm lint` assume
  # follows the client-go helm is built with (v0.X.Y -> 1.X) instead of helm's fallback of 1.20.
  client_go="$(awk '$1=="k8s.io/client-go"{print $2; exit}' "$mod_file")"
  k8s_minor="$(echo "$client_go" | cut -d. -f2)"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  if [ -n "$k8s_minor" ]; then
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
    done
  fi
  log "building helm $HELM_VERSION (takes a few minutes once)"
  # Install into a scratch directory and move into place, so that an interrupted build never
  # leaves a half-written binary that the check above would take for a finished one.
  tmp_bin="$(mktemp -d "$bin_dir/.install.XXXXXX")"
  trap 'rm -rf "$tmp_bin"' EXIT
  GOBIN="$tmp_bin" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  mv "$tmp_bin/helm" "$helm"
  log "helm $HELM_VERSION built in $(( $(date +%s) - start ))s"
fi

echo "$helm"
