# Sourced by the test command (and the bench): a redis-server of our own,
# on loopback, on its own port, for the team-budget tests. Never the
# system's service: started here, stopped here by its PID.
#   redis_start   installs Debian's redis-server when missing, starts it,
#                 exports PACER_REDIS_URL and REDIS_PID
#   redis_stop    stops it

redis_start() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "[redis] installing Debian's redis-server (team-budget tests; ~20 s)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  local port
  for port in $(seq "${REDIS_PORT:-6390}" $(( ${REDIS_PORT:-6390} + 20 ))); do
    # A port something already answers on is not ours.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  done
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    >"${TMPDIR:-/tmp}/pacer-redis-$port.log" 2>&1 &
  REDIS_PID=$!
  local _
  for _ in $(seq 50); do
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
      export PACER_REDIS_URL="redis://127.0.0.1:$port"
      echo "[redis] redis-server (pid $REDIS_PID) on $PACER_REDIS_URL"
      return 0
    fi
    sleep 0.1
  done
  echo "[redis] redis-server did not start; see ${TMPDIR:-/tmp}/pacer-redis-$port.log" >&2
  redis_stop
  return 1
}

redis_stop() {
  if [ -n "${REDIS_PID:-}" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=
  fi
}
