#!/usr/bin/env bash
# Elasticsearch (single node, 127.0.0.1 only) for the native stack.
# Sourced after lib.sh; defines search_up, search_down, search_status.
#
# Why it looks the way it does:
# - The only ES 9 build reachable here is Maven Central's integ-test-zip. It is the
#   core server plus transport-netty4, x-pack-core, x-pack-security and apm: no
#   analysis-common, lang-painless, reindex, mapper-extras, ingest-*, ml, watcher...
#   so only the settings of modules that are present may be written (ES refuses to
#   start on an unknown setting), and features of the missing modules do not exist.
# - ES refuses to run as root, and we are root: it runs as the system user
#   ledgerline-es via setpriv, which execs in place (no su/runuser PAM session, no
#   extra parent), so the pid ll_spawn records is ES's own launcher JVM, whose
#   session also holds the server JVM it forks; search_down waits for that session.
# - Config lives in a state dir (the dist stays read-only, shareable between runs),
#   is regenerated from the dist on every start, and keeps ES's own keystore.
#
# Env: SEARCH_PORT (9200), SEARCH_TRANSPORT_PORT (9300), SEARCH_HEAP (512m),
#      SEARCH_VERSION (9.4.3: the line of the @elastic/elasticsearch 9.4 client in
#      package.json; 9.2.0 also works), ES_JAVA_HOME (default: ll_java21_home).

SEARCH_USER=ledgerline-es

_search_port() { echo "${SEARCH_PORT:-9200}"; }
_search_version() { echo "${SEARCH_VERSION:-9.4.3}"; }

# True if 127.0.0.1:$1 is an Elasticsearch whose cluster health is yellow or green.
# The product header tells ES from anything else that might own the port.
_search_healthy() {
  local out
  out=$(curl -sS -D - --noproxy '*' --max-time 5 \
        "http://127.0.0.1:$1/_cluster/health?filter_path=status" 2>/dev/null) || return 1
  out=${out,,}
  [[ $out == *"x-elastic-product: elasticsearch"* ]] || return 1
  [[ $out == *'"status":"green"'* || $out == *'"status":"yellow"'* ]]
}

# Version number reported by the ES on 127.0.0.1:$1 (empty if it does not answer).
# Not from GET /: that handler lives in the rest-root module, absent from this zip.
_search_running_version() {
  local out
  out=$(curl -sS --noproxy '*' --max-time 5 \
        "http://127.0.0.1:$1/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null) || return 0
  sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p' <<<"$out"
}

# Unpack the distribution once into $LL_DIST/elasticsearch-<version>; print its path.
# Unpacked beside the target and renamed, so an interrupted unzip never looks installed.
_search_install() {
  local version=$1 home="$LL_DIST/elasticsearch-$1" zip tmp
  if [ ! -x "$home/bin/elasticsearch" ]; then
    zip=$(ll_mvn_get "org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip") \
      || ll_die "could not get Elasticsearch $version from Maven Central"
    ll_log "unpacking Elasticsearch $version into $home"
    tmp=$(mktemp -d "$LL_DIST/.elasticsearch-$version.XXXXXX")
    unzip -q "$zip" -d "$tmp" || { rm -rf "$tmp"; ll_die "could not unzip $zip"; }
    [ -x "$tmp/elasticsearch-$version/bin/elasticsearch" ] \
      || { rm -rf "$tmp"; ll_die "$zip does not hold elasticsearch-$version/bin/elasticsearch"; }
    # ES runs as another user: it must be able to read the whole tree whatever the umask.
    chmod -R a+rX "$tmp/elasticsearch-$version"
    mv "$tmp/elasticsearch-$version" "$home"
    rm -rf "$tmp"
  fi
  echo "$home"
}

# Create the unprivileged system user ES runs as (once; a lost race with another
# search_up is fine as long as the user exists afterwards).
_search_ensure_user() {
  id -u "$SEARCH_USER" >/dev/null 2>&1 && return 0
  ll_log "creating system user $SEARCH_USER (Elasticsearch refuses to run as root)"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
          --shell /usr/sbin/nologin --comment "Ledgerline Elasticsearch" "$SEARCH_USER" \
    || id -u "$SEARCH_USER" >/dev/null 2>&1 \
    || ll_die "could not create user $SEARCH_USER"
}

# Write the config dir ES_PATH_CONF points at: the dist's files (refreshed, since
# log4j2.properties and jvm.options change between versions) plus our overrides.
_search_write_config() {
  local home=$1 conf=$2 data=$3 logs=$4 port=$5 tport=$6 maps
  mkdir -p "$conf"
  cp -R "$home/config/." "$conf/"

  # The integ-test zip writes gc.log and hs_err files relative to the working dir,
  # which is the (read-only) ES home, so the JVM would not start as another user.
  # 32 x 64 MB of GC logs is also more than a dev box wants.
  sed -e "s#file=[^:]*gc\\.log#file=$logs/gc.log#" \
      -e 's#filecount=[0-9]*,filesize=[0-9]*[kmgKMG]\?#filecount=4,filesize=16m#' \
      -e "s#-XX:ErrorFile=.*#-XX:ErrorFile=$logs/hs_err_pid%p.log#" \
      "$home/config/jvm.options" >"$conf/jvm.options"
  echo "-XX:HeapDumpPath=$logs" >>"$conf/jvm.options"

  {
    echo "# Written by ops/native/search.sh on every start; edits here are lost."
    echo "cluster.name: ledgerline"
    echo "node.name: ledgerline-search"
    echo "path.data: $data"
    echo "path.logs: $logs"
    echo "network.host: 127.0.0.1"
    echo "http.port: $port"
    echo "transport.port: $tport"
    # One node, no cluster formation; this also makes bootstrap checks warnings only.
    echo "discovery.type: single-node"
    # Local dev store on loopback: no TLS, no users.
    echo "xpack.security.enabled: false"
    # Otherwise a fullish shared disk flips indices to read-only (flood stage).
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    # Features that need a license or reach the internet, only if their module is
    # present (a full distribution dropped in); the integ-test zip has none of them.
    [ -d "$home/modules/x-pack-ml" ] && echo "xpack.ml.enabled: false"
    [ -d "$home/modules/x-pack-watcher" ] && echo "xpack.watcher.enabled: false"
    [ -d "$home/modules/ingest-geoip" ] && echo "ingest.geoip.downloader.enabled: false"
    # Lucene mmaps index files. ES wants vm.max_map_count >= 262144 for production;
    # the Linux default 65530 is plenty for a dev node's few shards, but below that
    # fall back to plain file I/O instead of risking "map failed" errors.
    maps=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)
    if [ "$maps" -lt 65530 ]; then echo "node.store.allow_mmap: false"; fi
  } >"$conf/elasticsearch.yml"
}

_search_up_locked() {
  local lock_fd=$1 port version home java_home conf data logs tmpdir tport maps t0
  port=$(_search_port)
  version=$(_search_version)
  tport=${SEARCH_TRANSPORT_PORT:-9300}

  if _search_healthy "$port"; then
    ll_log "search already up"
    return 0
  fi
  # Our own ES still starting (e.g. an earlier search_up timed out): wait, don't fork a second.
  if ll_running search; then
    ll_wait search 240 _search_healthy "$port"
    return 0
  fi
  if ll_port_open "$port"; then
    # Maybe someone else's ES that has bound HTTP but not yet elected itself.
    ll_log "127.0.0.1:$port is taken by something that is not a healthy Elasticsearch yet; waiting 30 s"
    local i
    for i in $(seq 1 30); do _search_healthy "$port" && { ll_log "search already up"; return 0; }; sleep 1; done
    ll_die "127.0.0.1:$port is taken by something that is not a healthy Elasticsearch"
  fi
  ll_port_open "$tport" && ll_die "transport port 127.0.0.1:$tport is taken (set SEARCH_TRANSPORT_PORT)"

  java_home=${ES_JAVA_HOME:-$(ll_java21_home)} || ll_die "Elasticsearch 9 needs Java 21+; none found in /usr/lib/jvm"
  # A checkout under /root (as CI's may be) is not traversable by the ES user: its files then live under
  # /var/lib/ledgerline-search/<checkout key> instead. `local` shadows LL_DIST/LL_DATA for what is called below.
  local LL_DIST="$LL_DIST" LL_DATA="$LL_DATA" alt
  if [ "$(id -u)" = 0 ]; then
    _search_ensure_user
    if ! setpriv --reuid="$SEARCH_USER" --regid="$SEARCH_USER" --clear-groups test -x "$LL_STATE"; then
      alt="/var/lib/ledgerline-search/$(printf %s "$LL_STATE" | sha1sum | cut -c1-12)"
      ll_log "$SEARCH_USER cannot reach $LL_STATE; Elasticsearch's files go to $alt"
      mkdir -p "$alt/dist" "$alt/data"
      chmod 755 /var/lib/ledgerline-search "$alt" "$alt/dist" "$alt/data"
      LL_DIST="$alt/dist" LL_DATA="$alt/data"
    fi
  fi
  home=$(_search_install "$version")

  data="$LL_DATA/search" logs="$LL_DATA/search-logs" conf="$LL_DATA/search-config" tmpdir="$LL_DATA/search-tmp"
  mkdir -p "$data" "$logs" "$conf" "$tmpdir"
  _search_write_config "$home" "$conf" "$data" "$logs" "$port" "$tport"

  maps=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)
  [ "$maps" -ge 262144 ] \
    || ll_log "note: vm.max_map_count=$maps (< 262144; ES will warn). Fine for dev; for heavy use: sysctl -w vm.max_map_count=1048576"

  local -a cmd
  if [ "$(id -u)" = 0 ]; then
    _search_ensure_user
    # ES writes its keystore into the config dir, and its data, logs and tmp files.
    chown -R "$SEARCH_USER:$SEARCH_USER" "$data" "$logs" "$conf" "$tmpdir"
    chmod 0750 "$tmpdir"
    # Every parent of these dirs must be traversable by that user (not so if the
    # state dir was put under /root); say so now rather than via a Java stack trace.
    setpriv --reuid="$SEARCH_USER" --regid="$SEARCH_USER" --clear-groups \
      test -w "$data" -a -w "$logs" -a -w "$conf" -a -r "$home/bin/elasticsearch" -a -x "$java_home/bin/java" \
      || ll_die "user $SEARCH_USER cannot reach $data or $home (check the parent dirs' permissions)"
    # ES wants >= 65535 open files. Raising the hard limit needs CAP_SYS_RESOURCE,
    # which a container's root may lack (here the limit is 20000: ES only warns).
    cmd=()
    prlimit --nofile=65535:65535 true 2>/dev/null && cmd=(prlimit --nofile=65535:65535 --)
    # --reset-env: nothing of root's environment (JAVA_TOOL_OPTIONS, HOME=/root...) leaks in.
    cmd+=(setpriv --reuid="$SEARCH_USER" --regid="$SEARCH_USER" --clear-groups --reset-env --)
  fi
  cmd+=(env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$conf" ES_TMPDIR="$tmpdir"
        ES_JAVA_OPTS="-Xms${SEARCH_HEAP:-512m} -Xmx${SEARCH_HEAP:-512m}"
        "$home/bin/elasticsearch")

  t0=$SECONDS
  # The lock fd must not be inherited, or the long-lived ES would hold the lock.
  ll_spawn search "${cmd[@]}" {lock_fd}>&-
  ll_wait search 240 _search_healthy "$port"
  ll_log "search up on http://127.0.0.1:$port (elasticsearch $version) in $((SECONDS - t0)) s"
}

# Start ES unless a healthy one already answers on SEARCH_PORT.
search_up() {
  local lock_fd rc=0
  # Serialise concurrent search_up calls so they cannot start two nodes on one data dir.
  exec {lock_fd}>>"$LL_RUN/search.lock"
  flock -w 300 "$lock_fd" || ll_die "another search_up has held $LL_RUN/search.lock for 300 s"
  # Called bare, not with `||`: that would switch off errexit inside the whole body.
  _search_up_locked "$lock_fd"
  rc=$?
  exec {lock_fd}>&-
  return "$rc"
}

# Stop the ES this checkout started (and nothing else).
search_down() {
  local f pid i
  f=$(ll_pidfile search)
  if ! ll_running search; then
    rm -f "$f"
    _search_healthy "$(_search_port)" && ll_log "search was not started by this checkout; leaving it running"
    return 0
  fi
  pid=$(cat "$f")
  ll_stop search
  # ll_stop waits for the launcher JVM only; the server JVM (its child, same session)
  # may still be flushing. Wait for the whole session so the data dir lock and ports
  # are free when we return.
  for i in $(seq 1 60); do pgrep -s "$pid" >/dev/null || return 0; sleep 0.5; done
  ll_log "search: processes of session $pid still alive after 30 s; killing them"
  pkill -KILL -s "$pid" 2>/dev/null || true
  for i in $(seq 1 20); do pgrep -s "$pid" >/dev/null || return 0; sleep 0.5; done
  ll_die "could not stop search (session $pid)"
}

# One line of status; 0 if a healthy ES answers on SEARCH_PORT, 1 otherwise.
search_status() {
  local port url pid="" ver
  port=$(_search_port)
  url="http://127.0.0.1:$port"
  ll_running search && pid=$(cat "$(ll_pidfile search)")
  if _search_healthy "$port"; then
    ver=$(_search_running_version "$port")
    if [ -n "$pid" ]; then
      printf '%-14s%-6s%s\n' search up "$url (elasticsearch $ver, pid $pid)"
    else
      printf '%-14s%-6s%s\n' search up "$url (elasticsearch $ver; not started by this checkout)"
    fi
    return 0
  fi
  if [ -n "$pid" ]; then
    printf '%-14s%-6s%s\n' search down "(pid $pid running, not healthy yet: see $LL_LOGS/search.log)"
  else
    printf '%-14s%s\n' search down
  fi
  return 1
}
