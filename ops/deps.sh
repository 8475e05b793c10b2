#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than package-lock.json (sourced).
ll_npm_deps() {
  local root=$1 stamp="$1/node_modules/.ledgerline-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$root/package-lock.json" "$stamp"; then
    echo "[deps] installing npm dependencies (npm ci)" >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error) || { echo "[deps] npm ci failed" >&2; exit 1; }
    cp "$root/package-lock.json" "$stamp"
  fi
}
