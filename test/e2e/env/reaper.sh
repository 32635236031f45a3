#!/bin/sh
# reaper.sh PARENT_PID CMD [ARGS...]
# Runs CMD and stops it when PARENT_PID is gone, so that no etcd, kube-apiserver or moto outlives
# the process that started it, even when that process is killed with SIGKILL.
parent="$1"; shift
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 0.5
done
kill -TERM "$child" 2>/dev/null
wait "$child"
