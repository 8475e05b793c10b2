#!/usr/bin/env bash
# Redis: use the server already running; on a machine without one, install Debian's package and start it
# (no persistence: read models in Redis are rebuilt from the log).

REDIS_PORT="${REDIS_PORT:-6379}"

redis_ready() { ll_port_open "$REDIS_PORT"; }

redis_up() {
  if redis_ready; then ll_log "redis already up on 127.0.0.1:$REDIS_PORT"; return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    ll_log "installing Redis from Debian packages"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2 \
      || ll_die "could not install redis-server with apt-get"
  fi
  mkdir -p "$LL_DATA/redis"
  ll_spawn redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$LL_DATA/redis"
  ll_wait redis 30 redis_ready
}

redis_down() { ll_stop redis; }

redis_status() {
  if redis_ready; then printf '%-13s up    127.0.0.1:%s\n' redis "$REDIS_PORT"; else printf '%-13s down\n' redis; return 1; fi
}
