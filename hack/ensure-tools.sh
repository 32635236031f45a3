#!/usr/bin/env bash
# Installs what `make dev`, `make test` and CI need and the machine lacks, into the cache, and
# prints each thing it installs. What the machine already has (in a recent enough version) is used
# as it is. Everything it installs is reached through one directory of links, first on PATH:
#
#   bash hack/ensure-tools.sh [node] [aws] [kube] [helm]   install (default: all four)
#   bash hack/ensure-tools.sh --bin-dir                     print that directory and install nothing
#
#   node  Node.js $NODE_MAJOR (default 24) with npm, from the npm registry (the node-linux-<arch>
#         package; its npm from the npm package), when `node` is older
#   aws   moto_server (moto[server] $MOTO_VERSION) and aws (awscli) from PyPI, in a virtualenv
#   kube  kube-apiserver, kube-controller-manager and etcd (test/e2e/env/build-binaries.sh), and
#         kubectl from the same release when the machine has none
#   helm  helm (hack/build-helm.sh)
#   node-tier  (only when named) what a node needs and the operator's image: hack/ensure-node.sh
#
#   INFRA_OPERATOR_CACHE  (default ${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator)
#   NODE_MAJOR (24), NPM_MAJOR (11: the npm that Node.js 24 ships), MOTO_VERSION (5.2.1)
#   NODE_EXACT=1  a newer Node.js on the machine does not do: exactly NODE_MAJOR (image builds)
#
# Needs: bash, curl or npm, tar, python3 (aws), Go (kube, helm). Make and .ci/run put the
# directory on PATH themselves: export PATH="$(bash hack/ensure-tools.sh --bin-dir):$PATH".
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${INFRA_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator}"
NODE_MAJOR="${NODE_MAJOR:-24}"
NPM_MAJOR="${NPM_MAJOR:-11}"
MOTO_VERSION="${MOTO_VERSION:-5.2.1}"
# The npm registry as the package manager is configured: its environment, else npm's own settings,
# else the registry= line of ~/.npmrc (machines without npm).
REGISTRY="${npm_config_registry:-${NPM_CONFIG_REGISTRY:-}}"
if [ -z "$REGISTRY" ] && command -v npm >/dev/null; then REGISTRY="$(npm config get registry 2>/dev/null || true)"; fi
if [ -z "$REGISTRY" ] && [ -f "$HOME/.npmrc" ]; then REGISTRY="$(sed -n 's/^registry[[:space:]]*=[[:space:]]*//p' "$HOME/.npmrc" | tail -1)"; fi
REGISTRY="${REGISTRY%/}"
bin_dir="$CACHE/tools/bin"

if [ "${1:-}" = "--bin-dir" ]; then
  echo "$bin_dir"
  exit 0
fi

log() { echo "ensure-tools: $*" >&2; }
die() { log "$*"; exit 1; }
mkdir -p "$bin_dir"
export PATH="$bin_dir:$PATH"
tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

# A link in the tools directory, replacing an older one.
link() { ln -sfn "$1" "$bin_dir/$2"; }

node_major() { node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }

# Fetches one package tarball from the npm registry into $2 and prints its path: with npm when
# there is one (it checks the integrity), else with curl and python3 (checking the sha512 ourselves).
fetch_npm_package() { # $1: name@range, $2: directory
  local spec="$1" dest="$2" name="${1%@*}" range="${1##*@}"
  if command -v npm >/dev/null; then
    local file
    file="$(cd "$dest" && npm pack "$spec" --silent 2>/dev/null | tail -1)"
    [ -f "$dest/$file" ] || die "npm pack $spec failed"
    echo "$dest/$file"
    return
  fi
  command -v curl >/dev/null && command -v python3 >/dev/null || die "installing $spec needs npm, or curl and python3"
  [ -n "$REGISTRY" ] || die "installing $spec without npm needs the npm registry: set npm_config_registry or registry= in ~/.npmrc"
  curl -fsSL "$REGISTRY/$name" -o "$dest/packument.json" || die "could not read $REGISTRY/$name"
  local chosen
  chosen="$(python3 - "$dest/packument.json" "$range" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
major = sys.argv[2]
versions = [v for v in doc["versions"] if re.fullmatch(r"%s\.\d+\.\d+" % re.escape(major), v)]
if not versions:
    sys.exit("no version %s.x" % major)
best = max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
dist = doc["versions"][best]["dist"]
print(best, dist["tarball"], dist["integrity"])
PY
)" || die "no $name $range.x in the registry"
  local version tarball integrity
  read -r version tarball integrity <<<"$chosen"
  curl -fsSL "$tarball" -o "$dest/$name-$version.tgz" || die "could not download $tarball"
  python3 - "$dest/$name-$version.tgz" "$integrity" <<'PY' || die "$name $version: integrity check failed"
import base64, hashlib, sys
algo, digest = sys.argv[2].split("-", 1)
h = hashlib.new(algo)
h.update(open(sys.argv[1], "rb").read())
sys.exit(0 if base64.b64encode(h.digest()).decode() == digest else 1)
PY
  echo "$dest/$name-$version.tgz"
}

ensure_node() {
  local have
  have="$(node_major || true)"
  if [ -n "$have" ] && { [ "$have" = "$NODE_MAJOR" ] || { [ "${NODE_EXACT:-}" != 1 ] && [ "$have" -ge "$NODE_MAJOR" ]; }; }; then return; fi
  # An earlier run's Node.js of the wanted major, if any.
  local installed
  installed="$(ls -d "$CACHE/node/node-v$NODE_MAJOR".* 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$installed" ] || [ ! -x "$installed/bin/node" ] || [ ! -f "$installed/lib/node_modules/npm/bin/npm-cli.js" ]; then
    local arch
    case "$(uname -m)" in
      x86_64|amd64) arch=x64 ;;
      aarch64|arm64) arch=arm64 ;;
      *) die "no Node.js package for $(uname -m)" ;;
    esac
    [ "$(uname -s)" = Linux ] || die "installs Node.js on Linux only; install Node.js $NODE_MAJOR yourself"
    log "installing Node.js $NODE_MAJOR (node-linux-$arch from $REGISTRY; the machine has $( [ -n "$have" ] && node --version || echo none))"
    tmp="$(mktemp -d)"
    local node_tgz npm_tgz version
    node_tgz="$(fetch_npm_package "node-linux-$arch@$NODE_MAJOR" "$tmp")"
    npm_tgz="$(fetch_npm_package "npm@$NPM_MAJOR" "$tmp")"
    mkdir -p "$tmp/node" "$tmp/npm"
    tar -xzf "$node_tgz" -C "$tmp/node"
    tar -xzf "$npm_tgz" -C "$tmp/npm"
    version="$("$tmp/node/package/bin/node" --version)"
    installed="$CACHE/node/node-$version"
    rm -rf "$installed.partial"
    mkdir -p "$installed.partial/lib/node_modules"
    mv "$tmp/node/package/bin" "$installed.partial/bin"
    mv "$tmp/npm/package" "$installed.partial/lib/node_modules/npm"
    rm -rf "$installed"
    mv "$installed.partial" "$installed"
    log "installed Node.js $version with npm $("$installed/bin/node" "$installed/lib/node_modules/npm/bin/npm-cli.js" --version) in $installed"
  fi
  link "$installed/bin/node" node
  # npm and npx run with this node, whatever else is on PATH.
  for tool in npm npx; do
    rm -f "$bin_dir/$tool"
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$installed/bin/node" "$installed/lib/node_modules/npm/bin/$tool-cli.js" > "$bin_dir/$tool"
    chmod +x "$bin_dir/$tool"
  done
  have="$(node_major)"
  [ "$have" = "$NODE_MAJOR" ] || die "node on PATH is still $(node --version)"
}

ensure_aws() {
  if command -v moto_server >/dev/null && command -v aws >/dev/null; then return; fi
  command -v python3 >/dev/null || die "moto and awscli need python3"
  local venv="$CACHE/python" missing=()
  command -v moto_server >/dev/null || missing+=("moto[server]==$MOTO_VERSION")
  command -v aws >/dev/null || missing+=(awscli)
  log "installing ${missing[*]} from PyPI into $venv"
  if [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
    [ -x "$venv/bin/moto_server" ] && link "$venv/bin/moto_server" moto_server
    [ -x "$venv/bin/aws" ] && link "$venv/bin/aws" aws
  else
    # No venv module (Debian without python3-venv): the user's site, as pip install --user does.
    rm -rf "$venv"
    python3 -m pip install --user --quiet --disable-pip-version-check "${missing[@]}" >&2
    local user_bin
    user_bin="$(python3 -m site --user-base)/bin"
    [ -x "$user_bin/moto_server" ] && link "$user_bin/moto_server" moto_server
    [ -x "$user_bin/aws" ] && link "$user_bin/aws" aws
  fi
  command -v moto_server >/dev/null || die "moto_server is still missing after installing moto[server]"
  command -v aws >/dev/null || die "aws is still missing after installing awscli"
  log "installed: moto_server (moto[server] $MOTO_VERSION), $(aws --version 2>&1 | cut -d' ' -f1)"
}

ensure_kube() {
  command -v go >/dev/null || die "Go is required to build kube-apiserver, kube-controller-manager and etcd (https://go.dev/dl)"
  local kube_bin
  if command -v kubectl >/dev/null; then
    kube_bin="$(bash "$repo/test/e2e/env/build-binaries.sh" | tail -1)"
  else
    log "kubectl is missing: building it with kube-apiserver from the same release"
    kube_bin="$(BUILD_KUBECTL=1 bash "$repo/test/e2e/env/build-binaries.sh" | tail -1)"
    link "$kube_bin/kubectl" kubectl
    log "installed $(kubectl version --client 2>/dev/null | head -1)"
  fi
}

ensure_helm() {
  command -v go >/dev/null || die "Go is required to build helm"
  bash "$repo/hack/build-helm.sh" >/dev/null
}

command -v openssl >/dev/null || die "openssl is required (the local control plane's certificates)"
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(node aws kube helm)
for group in "${groups[@]}"; do
  case "$group" in
    node) ensure_node ;;
    aws) ensure_aws ;;
    kube) ensure_kube ;;
    helm) ensure_helm ;;
    node-tier) bash "$repo/hack/ensure-node.sh" >/dev/null ;; # not by default: containerd, kubelet, kube-proxy, the image
    *) die "unknown tool group $group (node, aws, kube, helm, node-tier)" ;;
  esac
done
