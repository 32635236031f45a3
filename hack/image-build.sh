#!/usr/bin/env bash
# Builds the operator image from the Dockerfile as it stands, with buildah (an OCI builder that runs
# the Dockerfile's instructions itself): no Docker engine, nothing pulled from an image registry.
#
# The base images are the ones the Dockerfile's ARG defaults name. When the local image storage
# lacks them, local stand-ins with exactly those names are made first (once; they stay in the
# storage, tagged with their Node.js version):
#   - the build image (node:24-bookworm-slim): Debian bookworm (debootstrap, minbase) with Node.js
#     and npm under /usr/local, as the official image lays them out;
#   - the runtime image (distroless nodejs24): no shell and no package manager, only Node.js at
#     /nodejs/bin/node, the C libraries it links, CA certificates and the users root, nobody and
#     nonroot (65532), which it runs as.
# Node.js is the npm registry's node-linux-<arch> package of the Dockerfile's major, npm the npm
# package of NPM_MAJOR (11, the npm that Node.js 24 ships). A machine with Docker builds the same
# Dockerfile from the real base images.
#
#   IMG                  image to build (default infra-operator:dev)
#   DEBIAN_MIRROR        mirror for debootstrap (default: the first Debian URI of apt's sources)
#   INFRA_OPERATOR_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator)
#
# Prints the image's digest and size, and on its last line the path of an OCI archive of the image
# (for `ctr images import`).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
IMG="${IMG:-infra-operator:dev}"
NPM_MAJOR="${NPM_MAJOR:-11}"
CACHE="${INFRA_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infra-operator}"
dockerfile="$repo/Dockerfile"

log() { echo "image-build: $*" >&2; }
die() { log "$*"; exit 1; }

missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} with apt-get"
  bash "$repo/hack/apt-install.sh" "${missing[@]}" || die "building the image needs ${missing[*]}"
fi
[ "$(id -u)" = 0 ] || die "buildah here runs as root (its storage is the machine's)"

arg_default() { sed -n "s/^ARG $1=\\(.*\\)$/\\1/p" "$dockerfile" | head -1; }
node_image="$(arg_default NODE_IMAGE)"
runtime_image="$(arg_default RUNTIME_IMAGE)"
[ -n "$node_image" ] && [ -n "$runtime_image" ] || die "the Dockerfile names no ARG NODE_IMAGE or RUNTIME_IMAGE default"
node_major="$(echo "$node_image" | sed -n 's/^node:\([0-9][0-9]*\).*/\1/p')"
[ -n "$node_major" ] || die "could not read the Node.js major of $node_image"

# Fully qualified as image references resolve them: node:24-... is docker.io/library/node:24-...
qualify() {
  case "$1" in
    */*) case "${1%%/*}" in *.*|*:*|localhost) echo "$1" ;; *) echo "docker.io/$1" ;; esac ;;
    *) echo "docker.io/library/$1" ;;
  esac
}
node_ref="$(qualify "$node_image")"
runtime_ref="$(qualify "$runtime_image")"
has_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

tmp="$(mktemp -d)"
containers=()
cleanup() {
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

case "$(uname -m)" in
  x86_64|amd64) node_arch=x64 ;;
  aarch64|arm64) node_arch=arm64 ;;
  *) die "no Node.js package for $(uname -m)" ;;
esac

# Node.js and npm from the npm registry, unpacked once per version into the cache.
node_dir=""
fetch_node() {
  [ -n "$node_dir" ] && return 0
  command -v npm >/dev/null || die "npm is required to fetch node-linux-$node_arch (hack/ensure-tools.sh node)"
  local node_tgz npm_tgz version
  node_tgz="$(cd "$tmp" && npm pack "node-linux-$node_arch@$node_major" --silent 2>/dev/null | tail -1)"
  npm_tgz="$(cd "$tmp" && npm pack "npm@$NPM_MAJOR" --silent 2>/dev/null | tail -1)"
  [ -f "$tmp/$node_tgz" ] && [ -f "$tmp/$npm_tgz" ] || die "could not fetch node-linux-$node_arch@$node_major and npm@$NPM_MAJOR"
  version="$(tar -xzOf "$tmp/$node_tgz" package/package.json | sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' | head -1)"
  node_dir="$CACHE/images/node-v$version-npm-$(echo "$npm_tgz" | sed 's/^npm-\(.*\)\.tgz$/\1/')"
  if [ ! -x "$node_dir/bin/node" ]; then
    rm -rf "$node_dir.partial"
    mkdir -p "$node_dir.partial/lib/node_modules/npm" "$node_dir.partial/bin"
    tar -xzf "$tmp/$node_tgz" -C "$tmp"
    mv "$tmp/package/bin/node" "$node_dir.partial/bin/node"
    rm -rf "$tmp/package"
    tar -xzf "$tmp/$npm_tgz" -C "$node_dir.partial/lib/node_modules/npm" --strip-components=1
    rm -rf "$node_dir"
    mv "$node_dir.partial" "$node_dir"
  fi
  log "Node.js v$version and npm $(basename "$node_dir" | sed 's/.*-npm-//') for the stand-in base images"
}

# Debian bookworm, minbase, with CA certificates: a tarball cached once.
rootfs_tar="$CACHE/images/debian-bookworm-minbase-$node_arch.tar"
debian_rootfs() {
  [ -f "$rootfs_tar" ] && return 0
  local mirror="${DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror="$( { sed -n 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null
      sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*\/debian\)\/* .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; } | head -1 || true)"
  fi
  [ -n "$mirror" ] || die "no Debian mirror in apt's sources: set DEBIAN_MIRROR"
  log "debootstrap bookworm (minbase) from $mirror"
  local start=$(date +%s)
  mkdir -p "$(dirname "$rootfs_tar")" "$tmp/rootfs"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$tmp/rootfs" "$mirror" > "$tmp/debootstrap.log" 2>&1 \
    || { tail -20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
  tar -C "$tmp/rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$tmp/rootfs"
  log "Debian root filesystem made in $(( $(date +%s) - start ))s"
}

# The build image: Debian with Node.js and npm under /usr/local.
make_node_image() {
  fetch_node
  debian_rootfs
  local c mnt version
  version="$("$node_dir/bin/node" --version)"
  c="$(buildah from scratch)"; containers+=("$c")
  mnt="$(buildah mount "$c")"
  tar -C "$mnt" --numeric-owner -xf "$rootfs_tar"
  mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/lib/node_modules"
  cp "$node_dir/bin/node" "$mnt/usr/local/bin/node"
  cp -a "$node_dir/lib/node_modules/npm" "$mnt/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  chroot "$mnt" groupadd --gid 1000 node
  chroot "$mnt" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  chroot "$mnt" /usr/local/bin/node --version >/dev/null || die "Node.js does not run in the Debian stand-in"
  # A machine whose Node.js trusts extra CAs (NODE_EXTRA_CA_CERTS, e.g. a TLS-inspecting proxy's)
  # reaches the npm registry only through them: the stand-in trusts the same bundle.
  local extra_ca=()
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    mkdir -p "$mnt/usr/local/share/ca-certificates"
    cp -L "$NODE_EXTRA_CA_CERTS" "$mnt/usr/local/share/ca-certificates/extra-node-ca.crt"
    extra_ca=(--env NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/extra-node-ca.crt)
    log "the build stand-in trusts the CAs of NODE_EXTRA_CA_CERTS, as this machine's Node.js does"
  fi
  buildah umount "$c" >/dev/null
  buildah config "${extra_ca[@]}" --env "NODE_VERSION=${version#v}" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd node --label "infra-operator.stand-in=$node_image" --label "node-version=$version" "$c"
  buildah commit --quiet "$c" "$node_ref" >/dev/null
  log "made the stand-in $node_ref (Debian bookworm, Node.js $version)"
}

# The runtime image: Node.js, its libraries, certificates, the users; no shell, no package manager.
make_runtime_image() {
  fetch_node
  debian_rootfs
  local c mnt version lib
  version="$("$node_dir/bin/node" --version)"
  mkdir -p "$tmp/debian"
  tar -C "$tmp/debian" --numeric-owner -xf "$rootfs_tar"
  c="$(buildah from scratch)"; containers+=("$c")
  mnt="$(buildah mount "$c")"
  mkdir -p "$mnt/nodejs/bin" "$mnt/etc/ssl/certs" "$mnt/tmp" "$mnt/home/nonroot" "$mnt/root"
  chmod 1777 "$mnt/tmp"
  chmod 700 "$mnt/root"
  cp "$node_dir/bin/node" "$mnt/nodejs/bin/node"
  # The dynamic loader and every library Node.js links, as the Debian root file system has them.
  cp "$node_dir/bin/node" "$tmp/debian/node"
  for lib in $(chroot "$tmp/debian" /usr/bin/ldd /node | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
    mkdir -p "$mnt$(dirname "$lib")"
    cp -L "$tmp/debian$lib" "$mnt$lib"
  done
  cp -L "$tmp/debian/etc/ssl/certs/ca-certificates.crt" "$mnt/etc/ssl/certs/ca-certificates.crt"
  cp -a "$tmp/debian/usr/share/zoneinfo" "$mnt/usr/share/" 2>/dev/null || true
  cat > "$mnt/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat > "$mnt/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  echo "hosts: files dns" > "$mnt/etc/nsswitch.conf"
  chown 65532:65532 "$mnt/home/nonroot"
  chroot "$mnt" /nodejs/bin/node --version >/dev/null || die "Node.js does not run in the runtime stand-in"
  buildah umount "$c" >/dev/null
  buildah config --user 65532 --workingdir /home/nonroot --entrypoint '["/nodejs/bin/node"]' --cmd '' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label "infra-operator.stand-in=$runtime_image" --label "node-version=$version" "$c"
  buildah commit --quiet "$c" "$runtime_ref" >/dev/null
  log "made the stand-in $runtime_ref (Node.js $version at /nodejs/bin/node, no shell, uid 65532)"
}

has_image "$node_ref" || make_node_image
has_image "$runtime_ref" || make_runtime_image

start=$(date +%s)
log "buildah bud -t $IMG (base images $node_ref, $runtime_ref)"
# --layers keeps each step's result, so that a rebuild with unchanged manifests skips npm ci.
# chroot isolation with the host's network: the build's RUN steps reach the npm registry as this
# machine does, and need no container runtime of their own.
buildah bud --quiet --pull=never --layers --isolation=chroot --network=host \
  -f "$dockerfile" -t "$IMG" "$repo" >&2
log "built $IMG in $(( $(date +%s) - start ))s"

digest="$(buildah images --digests --format '{{.Digest}}' "$IMG" | head -1)"
size="$(buildah images --format '{{.Size}}' "$IMG" | head -1)"
echo "image: $IMG"
echo "digest: $digest"
echo "size: $size"

archive="$CACHE/images/$(echo "$IMG" | tr '/:' '__').oci.tar"
mkdir -p "$(dirname "$archive")"
rm -f "$archive.partial"
buildah push --quiet "$IMG" "oci-archive:$archive.partial:$IMG" >&2
mv "$archive.partial" "$archive"
echo "$archive"
