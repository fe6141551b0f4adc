#!/usr/bin/env bash
# Stops the Postfix test instance started by scripts/postfix/up.sh. Exits 0 when the instance
# is not running or was never set up, so it is safe in cleanup traps.
#
#   usage: scripts/postfix/down.sh [STATE_DIR] [--purge]
#     STATE_DIR  the directory given to up.sh (default: ${TMPDIR:-/tmp}/mailwire-postfix)
#     --purge    also delete STATE_DIR: configuration, queue, certificates, mail and log
set -euo pipefail

STATE=${TMPDIR:-/tmp}/mailwire-postfix
PURGE=""
for argument in "$@"; do
  case $argument in
    --purge) PURGE=1 ;;
    -*)
      echo "postfix-down: unknown option '$argument'; usage: down.sh [STATE_DIR] [--purge]" >&2
      exit 2
      ;;
    *) STATE=$argument ;;
  esac
done
ETC=$STATE/etc

log() { printf 'postfix-down: %s\n' "$*" >&2; }

stop_instance() {
  local pid
  export MAIL_CONFIG=$ETC
  if ! postfix -c "$ETC" status >/dev/null 2>&1; then
    log "not running (configuration $ETC)"
    return 0
  fi

  pid=$(tr -d ' \n' <"$STATE/spool/pid/master.pid" 2>/dev/null || true)
  log "stopping Postfix (configuration $ETC, master pid ${pid:-unknown})"
  postfix -c "$ETC" stop >&2 2>&1 || true

  # 'postfix stop' only signals the master process. Waiting for it to exit frees the ports
  # for the next up.sh.
  [ -n "$pid" ] || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "master process $pid still running after 10 s; running 'postfix abort'"
  postfix -c "$ETC" abort >&2 2>&1 || true
}

if [ -f "$ETC/main.cf" ] && command -v postfix >/dev/null 2>&1; then
  stop_instance
else
  log "nothing to stop: no Postfix test instance is configured in $STATE"
fi

# Only a directory that up.sh wrote is deleted, so a mistyped path cannot remove other files.
if [ -n "$PURGE" ] && [ -d "$STATE" ]; then
  if ! grep -qs 'Written by scripts/postfix/up.sh' "$ETC/main.cf"; then
    log "not deleting $STATE: it has no configuration written by up.sh"
    exit 1
  fi
  log "deleting $STATE"
  rm -rf -- "$STATE"
fi
