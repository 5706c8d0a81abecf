#!/usr/bin/env bash
# A throwaway Redis Cluster of three masters on local ports, for the tests
# that must hold on a cluster (limiter, leases, replicas sharing Redis).
#
#   tools/redis-cluster.sh start   # prints the URL tpgate takes
#   tools/redis-cluster.sh stop
#
# Ports: REDIS_CLUSTER_PORTS (default "7101 7102 7103"); state lives in a
# temporary directory removed by `stop`. Nothing is persisted.
set -euo pipefail

ports=(${REDIS_CLUSTER_PORTS:-7101 7102 7103})
dir="${TMPDIR:-/tmp}/tpgate-redis-cluster"

start() {
  stop >/dev/null 2>&1 || true
  mkdir -p "$dir"
  local nodes=()
  for port in "${ports[@]}"; do
    mkdir -p "$dir/$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
      --dir "$dir/$port" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000 --save "" --appendonly no \
      --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log"
    nodes+=("127.0.0.1:$port")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  # Three masters, no replicas: the 16 384 slots split three ways.
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
  for _ in $(seq 1 100); do
    if redis-cli -p "${ports[0]}" cluster info | grep -q 'cluster_state:ok'; then
      local IFS=,
      echo "redis+cluster://${nodes[*]}"
      return
    fi
    sleep 0.1
  done
  echo "the Redis Cluster did not become ready; see $dir" >&2
  exit 1
}

stop() {
  for port in "${ports[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
