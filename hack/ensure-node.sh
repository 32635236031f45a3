#!/usr/bin/env bash
# Installs what a node of the local environment needs, and caches every build by version:
#   - runc, the CNI plugins (bridge, host-local, loopback), iptables, conntrack and buildah: Debian's
#     packages, installed with apt-get when missing (needs root);
#   - kubelet, kube-proxy and kube-scheduler of the environment's Kubernetes release, built from the
#     Go module proxy with the recipe of test/e2e/env/build-binaries.sh;
#   - containerd 2 (containerd, containerd-shim-runc-v2, ctr), built from the Go module proxy;
#   - the pod sandbox image containerd starts every pod with (the pause image of its configuration):
#     a small program of ours that holds the pod's namespaces until it is stopped, in an OCI archive;
#   - the operator's image (hack/image-build.sh), imported by the node tier into containerd.
# A second run with the same versions builds nothing.
#
#   KUBE_VERSION        (default v1.36.3, as build-binaries.sh)
#   CONTAINERD_VERSION  (default v2.4.2)
#   INFRA_OPERATOR_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator)
#   --bin-dir           print the directory of the node's binaries and install nothing
#   --background        start the whole install (the image too) at the lowest CPU and I/O priority
#                       and return at once; `make test` starts it before the other tiers
#   --wait              wait for a background install in progress or finished; when it succeeded,
#                       print the directory, else install in the foreground (its error shown)
#
# Prints the directory that holds kubelet, kube-proxy, kube-scheduler, containerd and pause.tar on
# its last line.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
CACHE="${INFRA_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator}"
bin_dir="$CACHE/bin/node-$KUBE_VERSION-containerd-$CONTAINERD_VERSION"

if [ "${1:-}" = "--bin-dir" ]; then
  echo "$bin_dir"
  exit 0
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
log() { echo "ensure-node: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$CACHE"
# The background install's log, and its exit status once it has ended (absent while it runs).
background_log="$CACHE/node-build.log"
background_status="$CACHE/node-build.status"
case "${1:-}" in
  --background)
    rm -f "$background_status"
    low_priority=(nice -n 19)
    command -v ionice >/dev/null && low_priority+=(ionice -c 3)
    nohup "${low_priority[@]}" bash -c 'bash "$1"; echo $? > "$2"' _ "$0" "$background_status" >"$background_log" 2>&1 </dev/null &
    log "installing the node's binaries and building the image in the background at low priority (log: $background_log)"
    exit 0
    ;;
  --wait)
    exec 9>"$CACHE/node-build.lock"
    flock 9
    exec 9>&-
    # Read once: a later run without a background install of its own installs (and builds the image) itself.
    status="$(cat "$background_status" 2>/dev/null || true)"
    rm -f "$background_status"
    if [ "$status" = 0 ]; then
      echo "$bin_dir"
      exit 0
    fi
    [ -n "$status" ] && log "the background install failed (log: $background_log); installing in the foreground"
    ;;
esac
# One install at a time: a run waits for the one in progress (a background install).
exec 9>"$CACHE/node-build.lock"
if ! flock -n 9; then
  log "waiting for the install in progress (log: $background_log)"
  flock 9
fi
command -v go >/dev/null || die "Go is required to build kubelet, kube-proxy and containerd"
mkdir -p "$bin_dir"

# Debian's packages: the command each provides.
ensure_packages() {
  local missing=() pair
  for pair in runc:runc buildah:buildah iptables:iptables conntrack:conntrack \
    /usr/lib/cni/bridge:containernetworking-plugins; do
    local cmd="${pair%%:*}" pkg="${pair#*:}"
    if [ "${cmd#/}" != "$cmd" ]; then [ -x "$cmd" ] || missing+=("$pkg"); else command -v "$cmd" >/dev/null || missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} with apt-get"
  bash "$repo/hack/apt-install.sh" "${missing[@]}" || die "a node needs the packages ${missing[*]}"
}

node_commands=(kubelet kube-proxy kube-scheduler)
build_kube_node() {
  local name all=1
  for name in "${node_commands[@]}"; do [ -x "$bin_dir/$name" ] || all=0; done
  [ "$all" = 1 ] && return 0
  local start mod_dir gomod minor staging_version
  start=$(date +%s)
  mod_dir="$CACHE/src/kubernetes-node-$KUBE_VERSION"
  mkdir -p "$mod_dir"
  gomod="$(cd "$mod_dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$gomod" ] || die "could not read go.mod of k8s.io/kubernetes@$KUBE_VERSION"
  minor="$(echo "$KUBE_VERSION" | cut -d. -f2)"
  staging_version="v0.${minor}.$(echo "$KUBE_VERSION" | cut -d. -f3)"
  log "building ${node_commands[*]} $KUBE_VERSION; this takes minutes once"
  {
    echo "module infra-operator.local/kube-node-build"
    echo
    echo "go $(awk '$1=="go"{print $2; exit}' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    awk '$2=="=>" && $3 ~ /^\.\/staging\// {print "replace " $1 " => " $1 " '"$staging_version"'"}' "$gomod"
  } > "$mod_dir/go.mod"
  cat > "$mod_dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  (
    cd "$mod_dir"
    go mod tidy >&2
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags="$ldflags -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    for name in "${node_commands[@]}"; do
      [ -x "$bin_dir/$name" ] && continue
      go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "k8s.io/kubernetes/cmd/$name"
      mv "$bin_dir/$name.tmp" "$bin_dir/$name"
    done
  )
  log "${node_commands[*]} built in $(( $(date +%s) - start ))s"
}

build_containerd() {
  [ -x "$bin_dir/containerd" ] && [ -x "$bin_dir/containerd-shim-runc-v2" ] && [ -x "$bin_dir/ctr" ] && return 0
  local start mod_dir
  start=$(date +%s)
  mod_dir="$CACHE/src/containerd-$CONTAINERD_VERSION"
  mkdir -p "$mod_dir"
  log "building containerd $CONTAINERD_VERSION"
  {
    echo "module infra-operator.local/containerd-build"
    echo
    echo "go 1.24"
    echo
    echo "require github.com/containerd/containerd/v2 $CONTAINERD_VERSION"
  } > "$mod_dir/go.mod"
  cat > "$mod_dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
GO
  (
    cd "$mod_dir"
    go mod tidy >&2
    # No btrfs snapshotter (it needs cgo); overlayfs is the one a node uses.
    tags="no_btrfs no_devmapper no_zfs"
    ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
    for name in containerd containerd-shim-runc-v2 ctr; do
      [ -x "$bin_dir/$name" ] && continue
      go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "github.com/containerd/containerd/v2/cmd/$name"
      mv "$bin_dir/$name.tmp" "$bin_dir/$name"
    done
  )
  log "containerd built in $(( $(date +%s) - start ))s"
}

# The sandbox image: the name containerd's configuration gives it, so that nothing is pulled.
PAUSE_IMAGE="${PAUSE_IMAGE:-registry.k8s.io/pause:3.10.2}"
build_pause() {
  local archive="$bin_dir/pause.tar"
  [ -f "$archive" ] && return 0
  local mod_dir="$CACHE/src/pause" c
  mkdir -p "$mod_dir"
  printf 'module infra-operator.local/pause\n\ngo 1.24\n' > "$mod_dir/go.mod"
  cat > "$mod_dir/main.go" <<'GO'
// Holds a pod's namespaces open until it is told to stop, reaping orphaned children meanwhile.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
GO
  (cd "$mod_dir" && go build -trimpath -ldflags "-s -w" -o "$mod_dir/pause" .)
  c="$(buildah from scratch)"
  buildah copy "$c" "$mod_dir/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
  buildah commit --quiet "$c" "$PAUSE_IMAGE" >/dev/null
  buildah rm "$c" >/dev/null
  buildah push --quiet "$PAUSE_IMAGE" "oci-archive:$archive.partial:$PAUSE_IMAGE" >&2
  mv "$archive.partial" "$archive"
  log "made the sandbox image $PAUSE_IMAGE"
}

ensure_packages
build_containerd
build_kube_node
build_pause
bash "$repo/hack/image-build.sh" >&2
echo "$bin_dir"
