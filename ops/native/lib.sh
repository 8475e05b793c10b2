#!/usr/bin/env bash
# Shared helpers for the native stack scripts (sourced, never run directly).
# Layout (all git-ignored, under the checkout):
#   .stack/dist/<svc>/   unpacked distributions (jars, zips), built from the Maven cache (~/.m2)
#   .stack/data/<svc>/   service data
#   .stack/logs/<svc>.log
#   .stack/run/<svc>.pid pid of a service this checkout started; `down` stops only these
set -euo pipefail

LL_ROOT="${LL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
LL_STATE="${LEDGERLINE_STATE_DIR:-$LL_ROOT/.stack}"
LL_DIST="$LL_STATE/dist"
LL_DATA="$LL_STATE/data"
LL_LOGS="$LL_STATE/logs"
LL_RUN="$LL_STATE/run"
mkdir -p "$LL_DIST" "$LL_DATA" "$LL_LOGS" "$LL_RUN"

# Java 21+ for what needs it (Elasticsearch 9, Apicurio 3); Java 17 for Kafka.
ll_java21_home() {
  local d
  for d in /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/temurin-21* /usr/lib/jvm/java-2[1-9]*; do
    [ -x "$d/bin/java" ] && { echo "$d"; return 0; }
  done
  return 1
}

ll_log() { printf '[stack] %s\n' "$*" >&2; }
ll_die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# True if something accepts TCP connections on 127.0.0.1:$1.
ll_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ll_pidfile() { echo "$LL_RUN/$1.pid"; }

# True if the pid file of service $1 names a live process.
ll_running() {
  local f; f=$(ll_pidfile "$1")
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# ll_spawn NAME CMD...: start CMD detached (own session), log to .stack/logs/NAME.log, record its pid.
ll_spawn() {
  local name=$1; shift
  local log="$LL_LOGS/$name.log"
  ll_log "starting $name (log: $log)"
  # One log per start, so readiness checks that grep the log never match a previous run.
  [ -f "$log" ] && mv -f "$log" "$log.1"
  setsid nohup "$@" >>"$log" 2>&1 < /dev/null &
  echo $! > "$(ll_pidfile "$name")"
}

# ll_stop NAME: stop a service this checkout started (TERM, then KILL after 30 s).
ll_stop() {
  local name=$1 f pid i
  f=$(ll_pidfile "$name")
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    ll_log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$f"
}

# ll_wait NAME SECONDS CHECK...: poll CHECK until it succeeds; fail naming the service (and its log tail).
ll_wait() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ -f "$(ll_pidfile "$name")" ] && ! ll_running "$name"; then
      tail -n 30 "$LL_LOGS/$name.log" >&2 || true
      ll_die "$name exited during start-up; see $LL_LOGS/$name.log"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LL_LOGS/$name.log" >&2 || true
      ll_die "$name is not ready after ${secs}s; see $LL_LOGS/$name.log"
    fi
    sleep 1
  done
  ll_log "$name is ready"
}

# ll_mvn_get G:A:V[:packaging[:classifier]]: fetch one artifact (no dependencies) into ~/.m2, print its path.
ll_mvn_get() {
  local coords=$1 g a v p c path
  IFS=: read -r g a v p c <<<"$coords"
  p=${p:-jar}
  path="$HOME/.m2/repository/${g//.//}/$a/$v/$a-$v${c:+-$c}.$p"
  if [ ! -f "$path" ]; then
    ll_log "fetching $coords from Maven Central"
    mvn -q -B dependency:get -Dartifact="$g:$a:$v:$p${c:+:$c}" -Dtransitive=false >&2 \
      || ll_die "could not fetch $coords with mvn"
  fi
  echo "$path"
}
