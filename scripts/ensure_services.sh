#!/usr/bin/env bash
# Make the system pieces the tests need available: a PostgreSQL server (the machine's own if one
# answers, else a throwaway cluster started from Debian's packages), Chromium for browser tests, ffmpeg.
# Prints `export ...` lines for the caller to eval.
set -uo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 \
    || echo "warning: could not install ${missing[*]}; tests that need them will skip" >&2
}
apt_install chromium chromium-driver ffmpeg poppler-utils postgresql fonts-wqy-zenhei

PG_URL=${PORTRAITMATCH_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "export PORTRAITMATCH_TEST_PG_URL='$PG_URL'"
  exit 0
fi
# No server answers: start a throwaway cluster on port 55432 owned by an unprivileged user.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$PGBIN" ]; then
  echo "warning: no PostgreSQL binaries; PostgreSQL tests will skip" >&2
  exit 0
fi
PGDIR=${TMPDIR:-/tmp}/portraitmatch-pg
RUNAS=()
if [ "$(id -u)" -eq 0 ]; then RUNAS=(runuser -u postgres --); fi
if [ ! -f "$PGDIR/PG_VERSION" ]; then
  mkdir -p "$PGDIR" && { [ "$(id -u)" -ne 0 ] || chown postgres "$PGDIR"; }
  "${RUNAS[@]}" "$PGBIN/initdb" -D "$PGDIR" -U postgres -A trust >/dev/null
fi
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR" -o "-p 55432 -k $PGDIR -c listen_addresses=127.0.0.1" -l "$PGDIR/log" -w start >/dev/null 2>&1 || true
if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p 55432; then
  echo "export PORTRAITMATCH_TEST_PG_URL='postgresql+psycopg://postgres@127.0.0.1:55432/postgres'"
else
  echo "warning: throwaway PostgreSQL did not start; PostgreSQL tests will skip" >&2
fi
