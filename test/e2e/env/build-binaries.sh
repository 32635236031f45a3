#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from the Go module proxy and caches them by version.
# A second run with the same versions builds nothing.
#
#   KUBE_VERSION  (default v1.36.3)  release of k8s.io/kubernetes
#   ETCD_VERSION  (default: the etcd server version that release's go.mod requires)
#   INFRA_OPERATOR_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator)
#   BUILD_KUBECTL=1      also build kubectl of the same release (for machines that have none)
#
# Prints the directory that holds the binaries on its last line.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
CACHE="${INFRA_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator}"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

command -v go >/dev/null || { echo "build-binaries: Go is required to build kube-apiserver and etcd" >&2; exit 1; }

log() { echo "build-binaries: $*" >&2; }

# k8s.io/kubernetes' own go.mod, read through the module proxy.
kube_mod_dir="$CACHE/src/kubernetes-$KUBE_VERSION"
mkdir -p "$kube_mod_dir"
kube_gomod="$(cd "$kube_mod_dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[ -f "$kube_gomod" ] || { log "could not read go.mod of k8s.io/kubernetes@$KUBE_VERSION"; exit 1; }

if [ -z "${ETCD_VERSION:-}" ]; then
  ETCD_VERSION="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$kube_gomod")"
fi
minor="$(echo "$KUBE_VERSION" | cut -d. -f2)"
staging_version="v0.${minor}.$(echo "$KUBE_VERSION" | cut -d. -f3)"

bin_dir="$CACHE/bin/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"
mkdir -p "$bin_dir"

build_kube() { # $1: command under k8s.io/kubernetes/cmd
  local name="$1" start
  [ -x "$bin_dir/$name" ] && return 0
  start=$(date +%s)
  log "building $name $KUBE_VERSION (staging modules at $staging_version); this takes minutes once"
  {
    echo "module infra-operator.local/kube-apiserver-build"
    echo
    echo "go $(awk '$1=="go"{print $2; exit}' "$kube_gomod")"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    # Every staging module that k8s.io/kubernetes replaces with ./staging/... gets its published version.
    awk '$2=="=>" && $3 ~ /^\.\/staging\// {print "replace " $1 " => " $1 " '"$staging_version"'"}' "$kube_gomod"
  } > "$kube_mod_dir/go.mod"
  cat > "$kube_mod_dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  (
    cd "$kube_mod_dir"
    go mod tidy >&2
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags="$ldflags -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "k8s.io/kubernetes/cmd/$name"
    mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  )
  log "$name built in $(( $(date +%s) - start ))s"
}
build_kube kube-apiserver
build_kube kube-controller-manager
if [ "${BUILD_KUBECTL:-}" = 1 ]; then build_kube kubectl; fi

if [ ! -x "$bin_dir/etcd" ]; then
  start=$(date +%s)
  log "building etcd $ETCD_VERSION"
  etcd_mod_dir="$CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$etcd_mod_dir"
  {
    echo "module infra-operator.local/etcd-build"
    echo
    echo "go 1.24"
    echo
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  } > "$etcd_mod_dir/go.mod"
  cat > "$etcd_mod_dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  (
    cd "$etcd_mod_dir"
    # The server's siblings are replaced by relative paths in its own go.mod; pin them to the same release.
    for m in go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/pkg/v3 go.etcd.io/etcd/client/v3 go.etcd.io/etcd/pkg/v3; do
      go mod edit -require="$m@$ETCD_VERSION"
    done
    go mod tidy >&2
    go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$bin_dir/etcd.tmp" "$bin_dir/etcd"
  )
  log "etcd built in $(( $(date +%s) - start ))s"
fi

echo "$bin_dir"
