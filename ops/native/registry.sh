#!/usr/bin/env bash
# Schema registry: Apicurio Registry 3 (Quarkus fast-jar from Maven Central), serving its
# Confluent-compatible API at http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7, data in PostgreSQL.
# Sourced by ops/stack after lib.sh and postgres.sh; PostgreSQL must be up first (the schemas live there).
# Checked with @kafkajs/confluent-schema-registry 3.9: register/encode/decode/getLatestSchemaId/getSchema,
# stable ids across restarts, BACKWARD enforcement (409) and /compatibility checks.
#
# Why these settings (all pinned in registry_java_opts, so nothing rests on Apicurio defaults that may
# move between releases; names taken from the 3.3.3 jar's application.properties and config classes):
#  - SQL storage on PostgreSQL (database $REGISTRY_DB): schema ids are written into every stored event
#    and must survive restarts; Apicurio's default store is an in-memory H2 that forgets them.
#  - ccompat legacy-id-mode OFF: the Confluent schema id is Apicurio's contentId, so one schema text has
#    one id whatever the subject and however often it is registered (Confluent's semantics). Legacy mode
#    hands out globalId instead: a new id for every subject version, even of an identical schema.
#  - Dynamic (runtime) configuration OFF: otherwise the id mode above, among others, could be flipped
#    through the admin API and kept in the database, silently changing the ids handed out.
#  - Default global compatibility rule BACKWARD: Confluent's default. Without it Apicurio enforces no
#    compatibility on registration until someone PUTs /config. A PUT /config (global) or
#    PUT /config/<subject> is stored in the database and overrides this default.
#  - Loopback only, for the API port and for Quarkus' separate management (health/metrics) port.
#  - No authentication, no OpenTelemetry export, no usage telemetry: nothing phones home or asks for a login.
#  - A small heap, serial GC and a small connection pool: Kafka and Elasticsearch share two cores with it,
#    and PostgreSQL's 100 connections with everything else (Apicurio's default pool is 20..100).

REGISTRY_VERSION="${REGISTRY_VERSION:-3.3.3}"
REGISTRY_PORT="${REGISTRY_PORT:-8081}"
REGISTRY_MANAGEMENT_PORT="${REGISTRY_MANAGEMENT_PORT:-9081}"
REGISTRY_HEAP="${REGISTRY_HEAP:-384m}"
REGISTRY_DB="${REGISTRY_DB:-ledgerline_registry}"
REGISTRY_HOME="$LL_DIST/apicurio-$REGISTRY_VERSION"
REGISTRY_WORKDIR="$LL_DATA/registry"
REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"

# PostgreSQL connection, with postgres.sh's defaults; read here rather than exported, so sourcing this
# file changes nothing for the other services.
registry_pg_host() { echo "${PGHOST:-127.0.0.1}"; }
registry_pg_port() { echo "${PGPORT:-5432}"; }
registry_pg_user() { echo "${PGUSER:-postgres}"; }
registry_psql() {
  psql -X -q -v ON_ERROR_STOP=1 -h "$(registry_pg_host)" -p "$(registry_pg_port)" -U "$(registry_pg_user)" "$@"
}

# Ready = the Confluent-compatible API answers 200; the port opens a moment before storage is ready. It asks for
# the global config (read from storage, constant size), not /subjects: that list grows with every test run's
# subjects in the shared PostgreSQL and took over the 5 s limit after a day of runs, failing `stack status`.
registry_ready() {
  [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$REGISTRY_URL/config" 2>/dev/null)" = 200 ]
}

# The fast-jar launcher: at the top of the `all` tarball (3.1+); 3.0.x had it under quarkus-app/.
registry_jar() {
  local j
  for j in "$REGISTRY_HOME/quarkus-run.jar" "$REGISTRY_HOME/quarkus-app/quarkus-run.jar"; do
    [ -f "$j" ] && { echo "$j"; return 0; }
  done
  return 1
}

registry_install() {
  [ -f "$REGISTRY_HOME/.complete" ] && return 0
  local archive tmp
  # The runnable application is the `all` attachment (tar.gz; there is no zip) of
  # io.apicurio:apicurio-registry-app: lib/, app/, quarkus/, quarkus-run.jar. ~160 MB, into ~/.m2 once.
  archive=$(ll_mvn_get "io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all")
  ll_log "unpacking Apicurio Registry $REGISTRY_VERSION into $REGISTRY_HOME"
  # Unpack beside the target and rename, so an interrupted unpack never looks installed.
  tmp="$REGISTRY_HOME.tmp.$$"
  rm -rf "$tmp" "$REGISTRY_HOME"; mkdir -p "$tmp"
  tar -xzf "$archive" -C "$tmp" || { rm -rf "$tmp"; ll_die "could not unpack $archive"; }
  mv "$tmp" "$REGISTRY_HOME"
  registry_jar >/dev/null || ll_die "no quarkus-run.jar in the Apicurio $REGISTRY_VERSION archive"
  touch "$REGISTRY_HOME/.complete"
}

registry_db_exists() {
  [ "$(registry_psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$REGISTRY_DB'")" = 1 ]
}

# Create the registry's database once; Apicurio creates and migrates its own tables in it on start.
registry_ensure_db() {
  pg_isready -q -h "$(registry_pg_host)" -p "$(registry_pg_port)" 2>/dev/null \
    || ll_die "PostgreSQL is not answering on $(registry_pg_host):$(registry_pg_port); the registry keeps its schemas there (start it first; ops/stack up does)"
  registry_db_exists && return 0
  ll_log "creating PostgreSQL database $REGISTRY_DB"
  # psql quotes the identifier (:"db"), but only in statements read from stdin, not in -c strings.
  # If a concurrent start created it first, the re-check passes.
  echo 'CREATE DATABASE :"db"' | registry_psql -d postgres -v db="$REGISTRY_DB" >&2 \
    || registry_db_exists || ll_die "could not create PostgreSQL database $REGISTRY_DB"
}

# JVM options and configuration, one per line, passed as system properties (they beat the jar's
# application.properties). The log format replaces the jar's, whose date pattern is broken ("YYYY-MMx").
registry_java_opts() {
  cat <<OPTS
-Xms64m
-Xmx$REGISTRY_HEAP
-XX:+UseSerialGC
-XX:+ExitOnOutOfMemoryError
-Dquarkus.http.host=127.0.0.1
-Dquarkus.http.port=$REGISTRY_PORT
-Dquarkus.management.host=127.0.0.1
-Dquarkus.management.port=$REGISTRY_MANAGEMENT_PORT
-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n
-Dapicurio.storage.kind=sql
-Dapicurio.storage.sql.kind=postgresql
-Dapicurio.datasource.url=jdbc:postgresql://$(registry_pg_host):$(registry_pg_port)/$REGISTRY_DB
-Dapicurio.datasource.username=$(registry_pg_user)
-Dapicurio.datasource.password=${PGPASSWORD:-unused-with-trust-auth}
-Dapicurio.datasource.jdbc.initial-size=2
-Dapicurio.datasource.jdbc.min-size=2
-Dapicurio.datasource.jdbc.max-size=10
-Dapicurio.ccompat.legacy-id-mode.enabled=false
-Dapicurio.config.dynamic.allow-all=false
-Dapicurio.rules.global.compatibility=BACKWARD
-Dapicurio.authn.enabled=false
-Dquarkus.oidc.tenant-enabled=false
-Dquarkus.otel.sdk.disabled=true
-Dapicurio.usage.telemetry.enabled=false
OPTS
}

registry_up() {
  if registry_ready; then ll_log "registry already up"; return 0; fi
  # Our JVM is still starting (e.g. an earlier up gave up waiting): wait for it, never start a second.
  if ll_running registry; then
    ll_log "registry (pid $(cat "$(ll_pidfile registry)")) is starting; waiting for it"
    ll_wait registry 180 registry_ready; return 0
  fi
  # Something that is not a Confluent-compatible registry holds the port: say so instead of timing out.
  ll_port_open "$REGISTRY_PORT" && ll_die "127.0.0.1:$REGISTRY_PORT is taken by something that is not a Confluent-compatible registry"
  local java_home opts
  # Apicurio 3 is built for Java 21 (the machine default is 17); lib.sh picks the newest 21+ (Temurin 25).
  java_home=$(ll_java21_home) || ll_die "Apicurio Registry 3 needs Java 21+ and none was found in /usr/lib/jvm"
  registry_install
  registry_ensure_db
  mkdir -p "$REGISTRY_WORKDIR"
  mapfile -t opts < <(registry_java_opts)
  # env -C: run from the registry's own data dir, because Quarkus also reads ./.env and
  # ./config/application.properties from its working directory, and the checkout's must not leak in.
  ll_spawn registry env -C "$REGISTRY_WORKDIR" "$java_home/bin/java" "${opts[@]}" -jar "$(registry_jar)"
  ll_wait registry 180 registry_ready
}

# Pids of JVMs running this checkout's Apicurio install (the path is unique to the checkout).
registry_jvm_pids() {
  local p args
  for p in /proc/[0-9]*; do
    mapfile -d "" -t args 2>/dev/null < "$p/cmdline" || continue
    [[ ${#args[@]} -gt 0 && ${args[0]##*/} == java ]] || continue
    case " ${args[*]} " in *" -jar $REGISTRY_HOME/"*) echo "${p#/proc/}" ;; esac
  done
}

registry_down() {
  ll_stop registry
  # ll_stop only knows the pid file; a JVM of this checkout's install whose pid file was lost (e.g.
  # .stack/run wiped) would keep the port and the database. Stop those too, by pid, TERM then KILL.
  local pids p _
  pids=$(registry_jvm_pids)
  [ -n "$pids" ] || return 0
  for p in $pids; do ll_log "stopping leftover registry JVM (pid $p)"; kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 60); do
    [ -n "$(registry_jvm_pids)" ] || return 0
    sleep 0.5
  done
  for p in $(registry_jvm_pids); do kill -KILL "$p" 2>/dev/null || true; done
}

registry_status() {
  local who version
  if ll_running registry; then who="pid $(cat "$(ll_pidfile registry)")"; else who="not started by this checkout"; fi
  if ! registry_ready; then
    if ll_running registry; then printf '%-13s down  (starting or unhealthy, %s)\n' registry "$who"
    else printf '%-13s down\n' registry; fi
    return 1
  fi
  # The version the running server reports (it may not be ours), from Apicurio's own system API.
  version=$(curl -s -m 5 "http://127.0.0.1:$REGISTRY_PORT/apis/registry/v3/system/info" 2>/dev/null \
    | sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p')
  printf '%-13s up    %s (apicurio %s, %s)\n' registry "$REGISTRY_URL" "${version:-?}" "$who"
}
