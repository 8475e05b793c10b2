#!/usr/bin/env bash
# PostgreSQL: use the server already running on this machine; on a machine without one, install
# Debian's package and start its cluster. Trust auth on loopback, as the project's defaults expect.

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER

postgres_ready() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null || ll_port_open "$PGPORT"; }

postgres_up() {
  if postgres_ready; then ll_log "postgres already up on $PGHOST:$PGPORT"; return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    ll_log "installing PostgreSQL from Debian packages"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 \
      || ll_die "could not install postgresql with apt-get"
  fi
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  # Loopback trust auth, as on the machines this project targets; never done on a server we did not install.
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  grep -q "ledgerline" "$hba" 2>/dev/null || {
    printf '# ledgerline: local development trust on loopback\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' \
      | cat - "$hba" > "$hba.new" && mv "$hba.new" "$hba"; }
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || ll_die "could not start PostgreSQL $version"
  ll_wait postgres 60 postgres_ready
}

postgres_down() { :; } # never stop a database this project did not start

postgres_status() {
  if postgres_ready; then printf '%-13s up    %s:%s\n' postgres "$PGHOST" "$PGPORT"; else printf '%-13s down\n' postgres; return 1; fi
}
