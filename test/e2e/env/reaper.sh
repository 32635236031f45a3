#!/bin/sh
# reaper.sh PARENT_PID CMD [ARGS...]
# Runs CMD and stops it when PARENT_PID is gone, so that no etcd, kube-apiserver or moto outlives
# the process that started it, even when that process is killed with SIGKILL. A child that does not
# exit within 5 s of SIGTERM (kube-apiserver waits for an etcd that is already gone) is killed.
parent="$1"; shift
"$@" &
child=$!

stop_child() {
  kill -TERM "$child" 2>/dev/null
  i=0
  while kill -0 "$child" 2>/dev/null && [ "$i" -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL "$child" 2>/dev/null
  wait "$child" 2>/dev/null
}

trap 'stop_child; exit 143' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 0.5
done
stop_child
