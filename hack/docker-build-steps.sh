#!/usr/bin/env bash
# Runs the Dockerfile's build without Docker, so that its steps cannot rot on machines (and CI)
# that have no Docker engine. It reads the Dockerfile itself rather than repeating it:
#   - the build context is made from .dockerignore's allow-list ("*" followed by "!path" lines);
#   - each stage gets a directory that stands for its root filesystem; WORKDIR, ENV, COPY
#     (from the context or --from=<stage>) and RUN are carried out there, with this machine's
#     node and npm standing in for the base images';
#   - the final stage's ENTRYPOINT is run with --help from the assembled runtime directory, and
#     the runtime is checked to hold no dev dependency.
# What it cannot check: the base images themselves, USER, and anything the image's OS provides.
#
#   DOCKER_BUILD_DIR  keep the assembled stages here (default: a temporary directory, removed)
#
# Prints the entrypoint's --help output; with DOCKER_BUILD_DIR, then the runtime directory on its
# last line.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dockerfile="$repo/Dockerfile"
ignore="$repo/.dockerignore"

log() { echo "docker-build-steps: $*" >&2; }
die() { log "$*"; exit 1; }

# The Node.js major of the build image stands in for it: this machine's when it matches, else the
# one hack/ensure-tools.sh installs into the cache.
image_major="$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9][0-9]*\).*/\1/p' "$dockerfile")"
[ -n "$image_major" ] || die "could not read the Node.js major of ARG NODE_IMAGE in the Dockerfile"
PATH="$(bash "$repo/hack/ensure-tools.sh" --bin-dir):$PATH"
export PATH
NODE_MAJOR="$image_major" NODE_EXACT=1 bash "$repo/hack/ensure-tools.sh" node
{ command -v node && command -v npm; } >/dev/null || die "node and npm are required"
node_major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
[ "$node_major" = "$image_major" ] || die "the image builds with Node.js $image_major but node here is $(node --version)"
log "Node.js $(node --version), npm $(npm --version) for the image's node:$image_major"

if [ -n "${DOCKER_BUILD_DIR:-}" ]; then
  work="$DOCKER_BUILD_DIR"
  rm -rf "$work"
  mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/infra-operator-image.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

# 1. The build context, as Docker would send it.
context="$work/context"
mkdir -p "$context"
mapfile -t ignore_lines < <(grep -v '^\s*#' "$ignore" | sed '/^\s*$/d')
[ "${ignore_lines[0]:-}" = "*" ] || die ".dockerignore must start with '*' (an allow-list); this script only understands that form"
for line in "${ignore_lines[@]:1}"; do
  [[ "$line" == !* ]] || die ".dockerignore line '$line': only '!path' exceptions are understood after '*'"
  path="${line#!}"
  path="${path%/}"
  [ -e "$repo/$path" ] || die ".dockerignore allows $path, which does not exist"
  mkdir -p "$context/$(dirname "$path")"
  cp -a "$repo/$path" "$context/$path"
done

# 2. The stages. Container path P of stage S lives at $work/stages/S/P.
stage=""
stage_count=0
workdir="/"
declare -A stage_env=()
declare -a env_names=()
entrypoint=""

root_of() { echo "$work/stages/$1"; }
resolve() { # container path (absolute or relative to WORKDIR) -> host path in stage $1
  local p="$2"
  [[ "$p" == /* ]] || p="${workdir%/}/$p"
  echo "$(root_of "$1")$p"
}

copy() { # COPY [--from=stage] src... dest
  local from="" args=()
  for a in "$@"; do
    case "$a" in
      --from=*) from="${a#--from=}" ;;
      --chown=*|--chmod=*|--link) ;; # ownership and layering do not matter outside an image
      *) args+=("$a") ;;
    esac
  done
  local n=${#args[@]}
  (( n >= 2 )) || die "COPY needs a source and a destination: $*"
  local dest="${args[n-1]}" dest_host
  dest_host="$(resolve "$stage" "$dest")"
  local into_dir=false
  [[ "$dest" == */ || $n -gt 2 ]] && into_dir=true
  for src in "${args[@]:0:n-1}"; do
    local src_host
    if [ -n "$from" ]; then
      [ -d "$(root_of "$from")" ] || die "COPY --from=$from: no such stage"
      [[ "$src" == /* ]] || src="/$src"
      src_host="$(root_of "$from")$src"
    else
      src_host="$context/$src"
    fi
    [ -e "$src_host" ] || die "COPY ${from:+--from=$from }$src: not found (is it allowed by .dockerignore?)"
    if [ -d "$src_host" ]; then
      # Docker copies a directory's contents, not the directory itself.
      mkdir -p "$dest_host"
      cp -a "$src_host/." "$dest_host/"
    elif $into_dir; then
      mkdir -p "$dest_host"
      cp -a "$src_host" "$dest_host/"
    else
      mkdir -p "$(dirname "$dest_host")"
      cp -a "$src_host" "$dest_host"
    fi
  done
}

run_step() {
  local dir
  dir="$(resolve "$stage" .)"
  mkdir -p "$dir"
  log "[$stage] RUN $*"
  local envs=()
  for name in "${env_names[@]}"; do envs+=("$name=${stage_env[$name]}"); done
  # prefer-offline only spares the network when npm's cache already has a package; it resolves
  # the same lockfile to the same packages.
  (cd "$dir" && env "${envs[@]}" npm_config_prefer_offline=true bash -euo pipefail -c "$*") >&2
}

# Joins continuation lines, drops comments, then executes instruction by instruction.
while IFS= read -r instruction; do
  read -r keyword rest <<<"$instruction"
  case "${keyword^^}" in
    ARG|EXPOSE|USER|LABEL|HEALTHCHECK|CMD) ;;
    FROM)
      stage_count=$((stage_count + 1))
      if [[ "$rest" =~ [[:space:]][Aa][Ss][[:space:]]+([A-Za-z0-9_.-]+)$ ]]; then stage="${BASH_REMATCH[1]}"; else stage="stage$stage_count"; fi
      workdir="/"
      stage_env=()
      env_names=()
      mkdir -p "$(root_of "$stage")"
      log "stage $stage"
      ;;
    WORKDIR)
      [[ "$rest" == /* ]] || rest="${workdir%/}/$rest"
      workdir="$rest"
      mkdir -p "$(resolve "$stage" .)"
      ;;
    ENV)
      for kv in $rest; do
        [[ "$kv" == *=* ]] || die "ENV $rest: only the NAME=value form is understood"
        stage_env["${kv%%=*}"]="${kv#*=}"
        env_names+=("${kv%%=*}")
      done
      ;;
    COPY)
      # shellcheck disable=SC2086 # word splitting is the point: COPY's arguments
      copy $rest
      ;;
    RUN) run_step "$rest" ;;
    ENTRYPOINT) entrypoint="$rest" ;;
    *) die "Dockerfile instruction $keyword is not understood; teach this script about it" ;;
  esac
done < <(sed -e 's/^\s*#.*$//' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | sed '/^\s*$/d')

[ -n "$stage" ] || die "the Dockerfile has no FROM"
[ -n "$entrypoint" ] || die "the final stage has no ENTRYPOINT"

# 3. The runtime as the image would run it.
runtime="$(resolve "$stage" .)"
[ ! -e "$runtime/node_modules/typescript" ] || die "the runtime holds dev dependencies (node_modules/typescript)"
[ ! -e "$runtime/src" ] || die "the runtime holds the TypeScript sources"
mapfile -t argv < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$entrypoint")
# The base image's node binary is this machine's node here.
[[ "${argv[0]}" == */node ]] || die "ENTRYPOINT should start with the node binary: $entrypoint"
argv[0]="$(command -v node)"
log "[$stage] ${argv[*]:1} --help"
(cd "$runtime" && env -i PATH="$PATH" HOME="$work" NODE_ENV="${stage_env[NODE_ENV]:-}" "${argv[@]}" --help)
if [ -n "${DOCKER_BUILD_DIR:-}" ]; then echo "$runtime"; fi
