#!/usr/bin/env bash
# Installs what the GitOps e2e tier runs, and caches every build by version (a second run with the
# same versions builds nothing):
#
#   - Flux's source-controller, kustomize-controller and helm-controller, built from the Go module
#     proxy at pinned releases, with their CRDs taken from the same module sources (config/crd/bases);
#   - Argo CD's application-controller and repo-server: one binary of ours
#     (hack/argocd-controllers/main.go, which runs either by the name it is started under) built
#     against the pinned Argo CD release the same way, with that release's CRDs (manifests/crds);
#   - redis-server (Argo CD's cache) and git (the repository server of the tests: git http-backend),
#     from Debian's packages when the machine lacks them.
#
#   bash hack/ensure-gitops.sh               install; prints the directory of the tier on its last line
#   bash hack/ensure-gitops.sh --dir         print that directory and install nothing
#   bash hack/ensure-gitops.sh --background  start the install at the lowest CPU and I/O priority
#                                            and return at once; a later run without flags waits for
#                                            it and then finds everything built. `make test` starts
#                                            it before the other tiers, so that the builds use the CPU
#                                            those tiers leave idle.
#
# The directory holds links source-controller, kustomize-controller, helm-controller,
# argocd-application-controller and argocd-repo-server (both to the one binary), redis-server, and
# crds/flux, crds/argocd.
#
#   FLUX_SOURCE_CONTROLLER_VERSION     (default v1.9.6)  github.com/fluxcd/source-controller
#   FLUX_KUSTOMIZE_CONTROLLER_VERSION  (default v1.9.6)  github.com/fluxcd/kustomize-controller
#   FLUX_HELM_CONTROLLER_VERSION       (default v1.4.3)  github.com/fluxcd/helm-controller
#   ARGOCD_VERSION                     (default v3.2.11) github.com/argoproj/argo-cd/v3
#   INFRA_OPERATOR_CACHE  (default ${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator)
#
# Versions: the newest releases whose go.mod this machine's Go (1.26) builds and whose every
# dependency the module proxy serves. Argo CD from 3.3 on keeps gitops-engine as a nested module
# replaced by ./gitops-engine; a module download leaves nested modules out and that module has no
# published version, so 3.2 is the newest line that builds from the proxy. v3.2.12 itself does not
# compile (controller/cache calls settings.ValidateExternalURL, which that release lacks): v3.2.11.
# helm-controller: the module proxy serves v1.4.0 and v1.4.3 and refuses the others tried (v1.3.0,
# v1.5.0: 403); v1.4.3 reads HelmCharts of source.toolkit.fluxcd.io/v1, which source-controller
# v1.9.6 serves.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
SC_VERSION="${FLUX_SOURCE_CONTROLLER_VERSION:-v1.9.6}"
KC_VERSION="${FLUX_KUSTOMIZE_CONTROLLER_VERSION:-v1.9.6}"
HC_VERSION="${FLUX_HELM_CONTROLLER_VERSION:-v1.4.3}"
ARGOCD_VERSION="${ARGOCD_VERSION:-v3.2.11}"
CACHE="${INFRA_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator}"
tier_dir="$CACHE/bin/gitops-sc-$SC_VERSION-kc-$KC_VERSION-hc-$HC_VERSION-argocd-$ARGOCD_VERSION"

if [ "${1:-}" = "--dir" ]; then
  echo "$tier_dir"
  exit 0
fi

log() { echo "ensure-gitops: $*" >&2; }
die() { log "$*"; exit 1; }

# Written last: everything in the tier's directory is there.
complete="$tier_dir/.complete-$(sha256sum "$repo/hack/argocd-controllers/main.go" | cut -c1-12)"
mkdir -p "$CACHE"
if [ "${1:-}" = "--background" ]; then
  [ -f "$complete" ] && exit 0
  background_log="$CACHE/gitops-build.log"
  low_priority=(nice -n 19)
  command -v ionice >/dev/null && low_priority+=(ionice -c 3)
  nohup "${low_priority[@]}" bash "$0" >"$background_log" 2>&1 </dev/null &
  log "building Flux's controllers and Argo CD in the background at low priority (log: $background_log)"
  exit 0
fi
if [ -f "$complete" ]; then
  echo "$tier_dir"
  exit 0
fi
# One build at a time: a run waits for the one in progress (a background build) and then finds
# its results in the cache.
exec 9>"$CACHE/gitops-build.lock"
if ! flock -n 9; then
  log "waiting for the build in progress (log: $CACHE/gitops-build.log)"
  flock 9
fi

# GOTOOLCHAIN=local: fail with a clear message instead of silently downloading another Go.
export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local

command -v go >/dev/null || die "Go is required to build Flux's controllers and Argo CD"
command -v python3 >/dev/null || die "python3 is required (reads the released go.mod files)"

apt_install() { # $@: Debian packages
  log "installing $* from Debian's packages"
  bash "$repo/hack/apt-install.sh" --no-recommends "$@" || die "could not install $*"
}

# The go.mod of a released module, read through the module proxy (printed as a path).
released_gomod() { # $1: module@version, $2: scratch dir
  (cd "$2" && go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
}

# The directory of a released module's sources in the module cache.
released_dir() { # $1: module@version, $2: scratch dir
  (cd "$2" && go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
}

# Builds one main package of a released module (or a main package of ours, a directory of this
# project, against that release) in a throwaway module that requires it and repeats
# its replace directives (a dependency's replaces are ignored, so `go install pkg@v` would build
# something else than the release). A replace by a local path (./api) is dropped: the required
# version of that module is its published release. Only the packages of the binary are fetched and
# compiled (go build, not go mod tidy, which would fetch every test dependency too).
build_released() { # $1: module, $2: version, $3: package or our directory, $4: output binary, $5: extra ldflags, $6...: extra replaces
  local module="$1" version="$2" pkg="$3" out="$4" extra="${5:-}" mod_dir start gomod
  shift 5 || shift $#
  [ -x "$out" ] && return 0
  start=$(date +%s)
  mod_dir="$CACHE/src/$(echo "$module" | tr '/' '_')-$version"
  mkdir -p "$mod_dir" "$(dirname "$out")"
  gomod="$(released_gomod "$module@$version" "$mod_dir")"
  [ -f "$gomod" ] || die "could not read go.mod of $module@$version"
  if [ "$pkg" = "$module" ]; then log "building $module $version (takes minutes once)"
  else log "building ${pkg#"$repo"/} against $module $version (takes minutes once)"; fi
  {
    echo "module infra-operator.local/$(basename "$out")-build"
    echo
    echo "go $(awk '$1=="go"{print $2; exit}' "$gomod")"
    echo
    echo "require $module $version"
    echo
    go mod edit -json "$gomod" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for r in doc.get("Replace") or []:
    new = r["New"]
    if new["Path"].startswith("./") or new["Path"].startswith("../"):
        continue
    old = r["Old"]["Path"] + (" " + r["Old"]["Version"] if r["Old"].get("Version") else "")
    print("replace %s => %s %s" % (old, new["Path"], new["Version"]))
'
    for r in "$@"; do echo "replace $r"; done
  } > "$mod_dir/go.mod"
  rm -f "$mod_dir/go.sum" "$mod_dir"/*.go
  if [ -d "$pkg" ]; then
    cp "$pkg"/*.go "$mod_dir/"
    pkg=.
  fi
  (
    cd "$mod_dir"
    go build -trimpath -ldflags "-s -w $extra" -o "$out.tmp" "$pkg"
    mv "$out.tmp" "$out"
  )
  log "$(basename "$out") $version built in $(( $(date +%s) - start ))s"
}

copy_crds() { # $1: module@version, $2: directory inside it, $3: destination (shared by modules)
  local src stamp
  stamp="$3/.copied-$(echo "$1" | tr '/@' '__')"
  [ -f "$stamp" ] && return 0
  mkdir -p "$CACHE/src" "$3"
  src="$(released_dir "$1" "$CACHE/src")"
  [ -d "$src/$2" ] || die "$1 has no $2"
  cp "$src/$2"/*.yaml "$3/"
  chmod u+w "$3"/*.yaml
  touch "$stamp"
}

command -v git >/dev/null && [ -x "$(git --exec-path)/git-http-backend" ] || apt_install git
command -v redis-server >/dev/null || apt_install redis-server

mkdir -p "$tier_dir/crds/flux" "$tier_dir/crds/argocd"
sc_bin="$CACHE/bin/flux-source-controller-$SC_VERSION/source-controller"
kc_bin="$CACHE/bin/flux-kustomize-controller-$KC_VERSION/kustomize-controller"
hc_bin="$CACHE/bin/flux-helm-controller-$HC_VERSION/helm-controller"
argocd_bin="$CACHE/bin/argocd-$ARGOCD_VERSION/argocd-controllers-${complete##*-}"

# source-controller v1.9.6 requires github.com/fluxcd/pkg/artifact v0.18.3, a patch release whose
# sources the module proxy does not serve; v0.18.0 of the same minor line is used instead.
build_released github.com/fluxcd/source-controller "$SC_VERSION" github.com/fluxcd/source-controller "$sc_bin" "" \
  "github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0"
copy_crds "github.com/fluxcd/source-controller@$SC_VERSION" config/crd/bases "$tier_dir/crds/flux"
build_released github.com/fluxcd/kustomize-controller "$KC_VERSION" github.com/fluxcd/kustomize-controller "$kc_bin" ""
copy_crds "github.com/fluxcd/kustomize-controller@$KC_VERSION" config/crd/bases "$tier_dir/crds/flux"
build_released github.com/fluxcd/helm-controller "$HC_VERSION" github.com/fluxcd/helm-controller "$hc_bin" ""
copy_crds "github.com/fluxcd/helm-controller@$HC_VERSION" config/crd/bases "$tier_dir/crds/flux"
argocd_pkg=github.com/argoproj/argo-cd/v3
build_released "$argocd_pkg" "$ARGOCD_VERSION" "$repo/hack/argocd-controllers" "$argocd_bin" \
  "-X $argocd_pkg/common.version=${ARGOCD_VERSION#v} -X $argocd_pkg/common.gitTreeState=clean"
copy_crds "$argocd_pkg@$ARGOCD_VERSION" manifests/crds "$tier_dir/crds/argocd"
# manifests/crds also holds the kustomization that lists them and the ApplicationSet CRD, which
# nothing here runs: only Application and AppProject are applied.
rm -f "$tier_dir/crds/argocd/kustomization.yaml" "$tier_dir/crds/argocd/applicationset-crd.yaml"

ln -sfn "$sc_bin" "$tier_dir/source-controller"
ln -sfn "$kc_bin" "$tier_dir/kustomize-controller"
ln -sfn "$hc_bin" "$tier_dir/helm-controller"
ln -sfn "$argocd_bin" "$tier_dir/argocd-application-controller"
ln -sfn "$argocd_bin" "$tier_dir/argocd-repo-server"
ln -sfn "$(command -v redis-server)" "$tier_dir/redis-server"
touch "$complete"
echo "$tier_dir"
