#!/usr/bin/env bash
# Installs Debian packages with apt-get, one install at a time: the builds that `make test` runs in
# the background (hack/ensure-gitops.sh, hack/ensure-node.sh, hack/image-build.sh) may install
# packages at the same moment, and dpkg refuses a second apt-get while one runs. Any other apt-get on
# the machine is waited for too (up to 10 minutes). The package lists are refreshed only when an
# install fails without them.
#
#   bash hack/apt-install.sh [--no-recommends] PACKAGE...
set -euo pipefail
options=()
if [ "${1:-}" = "--no-recommends" ]; then options+=(--no-install-recommends); shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--no-recommends] PACKAGE..." >&2; exit 2; }
command -v apt-get >/dev/null || { echo "apt-install: install $* (Debian packages) yourself: no apt-get here" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "apt-install: installing $* needs root (Debian: apt-get install $*)" >&2; exit 1; }

lock_dir=/run/lock
[ -d "$lock_dir" ] && [ -w "$lock_dir" ] || lock_dir=/tmp
exec 8>"$lock_dir/infra-operator-apt.lock"
flock 8
wait_for_others=(-o DPkg::Lock::Timeout=600)
install() { DEBIAN_FRONTEND=noninteractive apt-get "${wait_for_others[@]}" install -y -qq "${options[@]}" "$@" >&2; }
if ! install "$@"; then
  apt-get "${wait_for_others[@]}" update -qq >&2
  install "$@"
fi
