#!/usr/bin/env bash
# Runs the Postfix interoperability tests in test/interop against a private Postfix instance on
# 127.0.0.1. Must run as root, because scripts/postfix/up.sh starts Postfix's master process and
# installs postfix, sasl2-bin, libsasl2-modules and openssl from Debian when they are missing.
#
#   usage: sudo npm run test:interop
#          sudo bash scripts/interop.sh [VITEST_ARGUMENTS...]
#
# Environment (all optional):
#   MAILWIRE_POSTFIX_SMTP_PORT   STARTTLS listener, passed on to up.sh       (default 2525)
#   MAILWIRE_POSTFIX_SMTPS_PORT  implicit TLS listener, passed on to up.sh   (default 4465)
#   MAILWIRE_INTEROP_KEEP_STATE  set to 1 to keep the state directory (Maildir, log) after the run
#
# It builds @mailwire/node and its dependencies, starts Postfix in a new state directory, runs
# vitest on test/interop with MAILWIRE_POSTFIX_ENV set, and stops Postfix on exit whatever the
# outcome. The state directory is deleted unless MAILWIRE_INTEROP_KEEP_STATE=1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

STARTUP_LIMIT_SECONDS=300
BUILD_LIMIT_SECONDS=300
TEST_LIMIT_SECONDS=300
STATE=""

log() { printf 'interop: %s\n' "$*" >&2; }
fail() {
  log "error: $*"
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$STATE" ]; then
    if ((rc != 0)) && [ -s "$STATE/maillog" ]; then
      log "last lines of the Postfix log $STATE/maillog:"
      tail -n 40 "$STATE/maillog" >&2
    fi
    if [ "${MAILWIRE_INTEROP_KEEP_STATE:-}" = 1 ]; then
      bash scripts/postfix/down.sh "$STATE"
      log "kept the state directory $STATE"
    else
      bash scripts/postfix/down.sh "$STATE" --purge
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" -eq 0 ] ||
  fail "must run as root, because Postfix's master process runs as root." \
    "Run: sudo npm run test:interop"

started=$SECONDS
log "building @mailwire/node"
timeout "$BUILD_LIMIT_SECONDS" npx turbo run build --filter=@mailwire/node \
  --output-logs=errors-only </dev/null

STATE=$(mktemp -d "${TMPDIR:-/tmp}/mailwire-interop.XXXXXX")
log "starting Postfix in $STATE"
timeout "$STARTUP_LIMIT_SECONDS" bash scripts/postfix/up.sh "$STATE" </dev/null >/dev/null
export MAILWIRE_POSTFIX_ENV=$STATE/peer.env

log "running test/interop"
timeout --kill-after=10 "$TEST_LIMIT_SECONDS" npx vitest run test/interop "$@" </dev/null
log "passed in $((SECONDS - started)) s"
