#!/usr/bin/env bash
# Starts a private Postfix instance on 127.0.0.1 that the interoperability tests use as a real
# SMTP server. Running it again while the instance is up rewrites the configuration and reloads.
#
#   usage: scripts/postfix/up.sh [STATE_DIR]      (default: ${TMPDIR:-/tmp}/mailwire-postfix)
#
# Environment (all optional):
#   MAILWIRE_POSTFIX_SMTP_PORT   plain listener that offers STARTTLS      (default 2525)
#   MAILWIRE_POSTFIX_SMTPS_PORT  implicit TLS listener                    (default 4465)
#   MAILWIRE_POSTFIX_DOMAIN      domain whose mail is accepted            (default example.test)
#   MAILWIRE_POSTFIX_USER        SASL user name without the domain        (default testuser)
#   MAILWIRE_POSTFIX_PASSWORD    SASL password                            (default test-Passw0rd)
#
# Saves the peer's settings as KEY=VALUE lines to STATE_DIR/peer.env (mode 0600) and prints
# them on stdout with the password masked.
# Progress and errors go to stderr. Must run as root because Postfix's master process does.
# Stop the instance with scripts/postfix/down.sh STATE_DIR.
#
# The instance:
#   - keeps its configuration, queue, certificates, mail and log under STATE_DIR and never
#     reads /etc/postfix; the system's own Postfix is not started
#   - listens on 127.0.0.1 only, with STARTTLS on the plain port and TLS from the first byte on
#     the other, using a throw-away CA and a server certificate for localhost, 127.0.0.1 and
#     mx.DOMAIN
#   - offers AUTH PLAIN, LOGIN and CRAM-MD5 (Cyrus SASL, sasldb) only after TLS
#   - keeps CHUNKING (BDAT, RFC 3030), PIPELINING, 8BITMIME and SMTPUTF8 in the EHLO reply
#   - delivers every address @DOMAIN into one Maildir, except reject@DOMAIN (550 at RCPT)
#     and tempfail@DOMAIN (450 at RCPT)
#   - cannot send mail anywhere else: RCPT to another domain gets 554, and every transport
#     that could leave the machine is replaced by the error transport
set -Eeuo pipefail

STATE=${1:-${TMPDIR:-/tmp}/mailwire-postfix}
SMTP_PORT=${MAILWIRE_POSTFIX_SMTP_PORT:-2525}
SMTPS_PORT=${MAILWIRE_POSTFIX_SMTPS_PORT:-4465}
DOMAIN=${MAILWIRE_POSTFIX_DOMAIN:-example.test}
SASL_USER=${MAILWIRE_POSTFIX_USER:-testuser}
SASL_PASSWORD=${MAILWIRE_POSTFIX_PASSWORD:-test-Passw0rd}
# virtual(8) rejects UIDs below virtual_minimum_uid (default 100), so mail is stored as
# nobody:nogroup, which is 65534:65534 on Debian.
MAIL_UID=65534
MAIL_GID=65534
PACKAGES=(postfix sasl2-bin libsasl2-modules openssl)

log() { printf 'postfix-up: %s\n' "$*" >&2; }
fail() {
  log "error: $*"
  exit 1
}

# Postfix writes most fatal errors only to its own log, so show its end when a step fails.
show_log_on_error() {
  local rc=$?
  log "failed with exit code $rc at line $1"
  if [ -n "${MAILLOG:-}" ] && [ -s "$MAILLOG" ]; then
    log "last lines of $MAILLOG:"
    tail -n 20 "$MAILLOG" >&2
  fi
  exit "$rc"
}
trap 'show_log_on_error $LINENO' ERR

[ "$(id -u)" -eq 0 ] || fail "must run as root, because Postfix's master process runs as root"
case $STATE in
  /*) ;;
  *) STATE=$PWD/$STATE ;;
esac
[[ $STATE =~ ^[A-Za-z0-9_./-]+$ ]] ||
  fail "state directory '$STATE' may contain only letters, digits and _ . / -"
for port in "$SMTP_PORT" "$SMTPS_PORT"; do
  if ! [[ $port =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    fail "invalid port '$port'; set MAILWIRE_POSTFIX_SMTP_PORT and MAILWIRE_POSTFIX_SMTPS_PORT to 1-65535"
  fi
done
[ "$SMTP_PORT" != "$SMTPS_PORT" ] || fail "both listeners are set to port $SMTP_PORT"

# --- packages (installed only when missing) ---------------------------------------------------

install_missing_packages() {
  local missing=() package
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0

  log "installing ${missing[*]}"
  local started=$SECONDS apt_log rc=0 own_policy=""
  apt_log=$(mktemp /tmp/mailwire-postfix-apt.XXXXXX)
  # Exit code 101 from policy-rc.d forbids package scripts to start services, so the system-wide
  # Postfix stays down. Debconf's "No configuration" keeps /etc/postfix/main.cf unwritten.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  {
    apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } </dev/null >"$apt_log" 2>&1 || rc=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d

  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$apt_log" >&2
    rm -f "$apt_log"
    fail "apt-get failed with exit code $rc"
  fi
  rm -f "$apt_log"
  log "installed in $((SECONDS - started)) s"
}

# --- SMTP checks over bash's /dev/tcp and openssl s_client ------------------------------------

# Reads one SMTP reply (all its lines) from file descriptor $1 into REPLY_TEXT.
# Fails after 10 s without a line, or on end of stream.
read_reply() {
  local fd=$1 line
  REPLY_TEXT=""
  for _ in $(seq 1 200); do
    IFS= read -r -t 10 -u "$fd" line || return 1
    line=${line%$'\r'}
    REPLY_TEXT+="$line"$'\n'
    [[ $line =~ ^[0-9]{3}- ]] || return 0
  done
  return 1
}

# Sends one command line to file descriptor $2 and reads the reply from $1.
send_command() {
  printf '%s\r\n' "$3" >&"$2"
  read_reply "$1"
}

require_line() {
  grep -qE "$1" <<<"$REPLY_TEXT" || {
    printf '%s' "$REPLY_TEXT" >&2
    fail "$2"
  }
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_greeting() {
  local fd
  for _ in $(seq 1 50); do
    if { exec {fd}<>"/dev/tcp/127.0.0.1/$SMTP_PORT"; } 2>/dev/null; then
      if read_reply "$fd" && [[ $REPLY_TEXT == 220\ * ]]; then
        send_command "$fd" "$fd" 'QUIT' || true
        exec {fd}>&-
        return 0
      fi
      exec {fd}>&-
    fi
    sleep 0.2
  done
  fail "no 220 greeting on 127.0.0.1:$SMTP_PORT within 10 s; see $MAILLOG"
}

# Checks that EHLO before TLS offers STARTTLS and CHUNKING but not AUTH (smtpd_tls_auth_only).
check_plain_ehlo() {
  local fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$SMTP_PORT"
  read_reply "$fd" || fail "no greeting on 127.0.0.1:$SMTP_PORT"
  send_command "$fd" "$fd" "EHLO check.$DOMAIN" || fail "no reply to EHLO on port $SMTP_PORT"
  require_line '^250[- ]STARTTLS$' "EHLO on port $SMTP_PORT does not offer STARTTLS"
  require_line '^250[- ]CHUNKING$' "EHLO on port $SMTP_PORT does not offer CHUNKING"
  if grep -qE '^250[- ]AUTH' <<<"$REPLY_TEXT"; then
    fail "EHLO on port $SMTP_PORT offers AUTH before TLS"
  fi
  send_command "$fd" "$fd" 'QUIT' || true
  exec {fd}>&-
}

# Checks, after a verified TLS handshake, that EHLO offers CHUNKING and the three SASL mechanisms
# and that the test user logs in with AUTH PLAIN. $1 is "starttls" or "implicit".
check_tls_session() {
  local mode=$1 port=$SMTP_PORT starttls=(-starttls smtp) fifo_dir pid input output token
  if [ "$mode" = implicit ]; then
    port=$SMTPS_PORT
    starttls=()
  fi

  # Named pipes are used rather than a coprocess because their file descriptors stay open even
  # when openssl exits early.
  fifo_dir=$(mktemp -d "$STATE/tls-check.XXXXXX")
  mkfifo "$fifo_dir/to-server" "$fifo_dir/from-server"
  timeout 30 openssl s_client -quiet -connect "127.0.0.1:$port" "${starttls[@]}" \
    -CAfile "$TLS/ca.pem" -verify_return_error -verify_hostname localhost \
    <"$fifo_dir/to-server" >"$fifo_dir/from-server" 2>"$fifo_dir/openssl.err" &
  pid=$!
  exec {output}>"$fifo_dir/to-server" {input}<"$fifo_dir/from-server"

  # In STARTTLS mode openssl s_client reads the greeting itself and shows only what follows.
  if [ "$mode" = implicit ]; then
    if ! read_reply "$input" || [[ $REPLY_TEXT != 220\ * ]]; then
      fail "no TLS greeting on 127.0.0.1:$port: $(tail -n 3 "$fifo_dir/openssl.err")"
    fi
  fi
  send_command "$input" "$output" "EHLO check.$DOMAIN" ||
    fail "TLS handshake or EHLO failed on 127.0.0.1:$port ($mode): $(tail -n 3 "$fifo_dir/openssl.err")"
  require_line '^250[- ]CHUNKING$' "EHLO over TLS on port $port does not offer CHUNKING"
  local mechanism
  for mechanism in PLAIN LOGIN CRAM-MD5; do
    require_line "^250[- ]AUTH( .*)? $mechanism( |\$)" \
      "EHLO over TLS on port $port does not offer AUTH $mechanism"
  done

  token=$(printf '\0%s\0%s' "$SASL_USER@$DOMAIN" "$SASL_PASSWORD" | base64 -w0)
  send_command "$input" "$output" "AUTH PLAIN $token" || fail "no reply to AUTH PLAIN on port $port"
  require_line '^235 ' "AUTH PLAIN as $SASL_USER@$DOMAIN failed on port $port ($mode)"
  send_command "$input" "$output" 'QUIT' || true

  exec {output}>&- {input}<&-
  wait "$pid" || true
  rm -rf "$fifo_dir"
}

# --- main -----------------------------------------------------------------------------------

install_missing_packages

ETC=$STATE/etc
SPOOL=$STATE/spool
DATA=$STATE/data
TLS=$STATE/tls
MAILBASE=$STATE/mail
MAILDIR=$MAILBASE/inbox
MAILLOG=$STATE/maillog

mkdir -p "$ETC/sasl" "$SPOOL" "$DATA" "$TLS" "$MAILDIR/new" "$MAILDIR/cur" "$MAILDIR/tmp"
chmod 755 "$STATE" "$ETC" "$ETC/sasl" "$SPOOL" "$TLS" "$MAILBASE"
chown postfix:postfix "$DATA"
chmod 700 "$DATA"
# Postfix daemons run as the postfix user and need search permission on every parent.
parent=$STATE
while [ "$parent" != / ]; do
  parent=$(dirname "$parent")
  if [ $((0$(stat -c %a "$parent") & 1)) -eq 0 ]; then
    log "warning: $parent is not searchable by other users, so Postfix daemons may fail"
  fi
done

# The CA and certificate are made once per state directory, so tests may cache the CA.
if [ ! -s "$TLS/ca.pem" ] || [ ! -s "$TLS/server.pem" ] || [ ! -s "$TLS/server.key" ]; then
  log "creating a test CA and a server certificate in $TLS"
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -subj '/CN=mailwire test CA' \
    -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
  openssl req -new -nodes -newkey rsa:2048 -sha256 -subj '/CN=localhost' \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
  printf '%s\n' \
    'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' \
    "subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:mx.$DOMAIN" >"$TLS/server.ext"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$TLS/server.ext" \
    -out "$TLS/server.pem" 2>/dev/null
  rm -f "$TLS/server.csr"
fi
chmod 644 "$TLS/ca.pem" "$TLS/server.pem"
chmod 600 "$TLS/ca.key" "$TLS/server.key"

cat >"$ETC/main.cf" <<EOF
# Written by scripts/postfix/up.sh on every run. Test server on 127.0.0.1 only.
compatibility_level = 3.6
config_directory = $ETC
queue_directory = $SPOOL
data_directory = $DATA
mail_owner = postfix
setgid_group = postdrop
maillog_file = $MAILLOG
maillog_file_prefixes = $STATE

myhostname = mx.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
smtpd_banner = \$myhostname ESMTP mailwire test server
biff = no

inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32

# Only the virtual domain is accepted, and nothing leaves the machine.
mydestination =
local_recipient_maps =
relay_domains =
relayhost =
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$ETC/rcpt_access
default_transport = error:5.7.1 outbound delivery is disabled on this test server
relay_transport = error:5.7.1 outbound delivery is disabled on this test server
local_transport = error:5.7.1 local delivery is disabled on this test server
smtp_dns_support_level = disabled
smtpd_peername_lookup = no

virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $MAILBASE
virtual_mailbox_maps = texthash:$ETC/mailboxes
virtual_uid_maps = static:$MAIL_UID
virtual_gid_maps = static:$MAIL_GID

# Header fields from clients are neither rewritten nor completed with a missing Date, From or
# Message-ID.
local_header_rewrite_clients =
always_add_missing_headers = no

# Postfix offers CHUNKING (BDAT, RFC 3030) by default. An empty discard list keeps it and every
# other EHLO keyword.
smtpd_discard_ehlo_keywords =

# Reject protocol mistakes instead of repairing them, so client bugs show up in tests.
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions =
smtpd_forbid_unauth_pipelining = yes
smtpd_error_sleep_time = 0s

smtpd_tls_cert_file = $TLS/server.pem
smtpd_tls_key_file = $TLS/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_tls_session_cache_database =
tls_random_source = dev:/dev/urandom

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $ETC/sasl
smtpd_sasl_local_domain = $DOMAIN
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
broken_sasl_auth_clients = no
EOF

# No smtp, lmtp or local client services are defined, so the instance cannot send mail out.
cat >"$ETC/master.cf" <<EOF
# Written by scripts/postfix/up.sh on every run.
# service             type  private unpriv chroot wakeup maxproc command
127.0.0.1:$SMTP_PORT  inet  n       -      n      -      -       smtpd
127.0.0.1:$SMTPS_PORT inet  n       -      n      -      -       smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
pickup      unix  n  -  n  60     1  pickup
cleanup     unix  n  -  n  -      0  cleanup
qmgr        unix  n  -  n  300    1  qmgr
tlsmgr      unix  -  -  n  1000?  1  tlsmgr
rewrite     unix  -  -  n  -      -  trivial-rewrite
bounce      unix  -  -  n  -      0  bounce
defer       unix  -  -  n  -      0  bounce
trace       unix  -  -  n  -      0  bounce
verify      unix  -  -  n  -      1  verify
flush       unix  n  -  n  1000?  0  flush
proxymap    unix  -  -  n  -      -  proxymap
proxywrite  unix  -  -  n  -      1  proxymap
showq       unix  n  -  n  -      -  showq
error       unix  -  -  n  -      -  error
retry       unix  -  -  n  -      -  error
discard     unix  -  -  n  -      -  discard
virtual     unix  -  n  n  -      -  virtual
anvil       unix  -  -  n  -      1  anvil
scache      unix  -  -  n  -      1  scache
postlog     unix-dgram  n  -  n  -  1  postlogd
EOF

printf '@%s inbox/\n' "$DOMAIN" >"$ETC/mailboxes"
cat >"$ETC/rcpt_access" <<EOF
reject@$DOMAIN 550 5.1.1 <reject@$DOMAIN>: recipient rejected by the test server
tempfail@$DOMAIN 450 4.2.1 <tempfail@$DOMAIN>: try again later (test server)
EOF

# Debian's Postfix looks for the Cyrus SASL settings in <config_directory>/sasl/smtpd.conf.
cat >"$ETC/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN CRAM-MD5
sasldb_path: $ETC/sasldb2
EOF

# The user database is rebuilt on every run so that a changed password takes effect.
rm -f "$ETC/sasldb2"
printf '%s' "$SASL_PASSWORD" | saslpasswd2 -p -c -f "$ETC/sasldb2" -u "$DOMAIN" "$SASL_USER"
chown root:postfix "$ETC/sasldb2"
chmod 640 "$ETC/sasldb2"
chmod 644 "$ETC/main.cf" "$ETC/master.cf" "$ETC/mailboxes" "$ETC/rcpt_access" \
  "$ETC/sasl/smtpd.conf"

# The Maildir exists before the first delivery so that tests can watch it from the start.
chown -R "$MAIL_UID:$MAIL_GID" "$MAILDIR"
chmod -R u+rwX,go+rX "$MAILDIR"
touch "$MAILLOG"

export MAIL_CONFIG=$ETC
started=$SECONDS
postfix -c "$ETC" check >&2
if postfix -c "$ETC" status >/dev/null 2>&1; then
  log "already running; reloading the configuration in $ETC"
  postfix -c "$ETC" reload >&2 2>&1
else
  for port in "$SMTP_PORT" "$SMTPS_PORT"; do
    ! port_in_use "$port" ||
      fail "127.0.0.1:$port is already in use; choose other ports with MAILWIRE_POSTFIX_SMTP_PORT and MAILWIRE_POSTFIX_SMTPS_PORT"
  done
  log "starting Postfix with the configuration in $ETC"
  postfix -c "$ETC" start >&2 2>&1
fi

wait_for_greeting
check_plain_ehlo
check_tls_session starttls
check_tls_session implicit
log "ready in $((SECONDS - started)) s: STARTTLS on 127.0.0.1:$SMTP_PORT, TLS on 127.0.0.1:$SMTPS_PORT"

{
  echo "SMTP_HOST=127.0.0.1"
  echo "SMTP_PORT=$SMTP_PORT"
  echo "SMTPS_PORT=$SMTPS_PORT"
  echo "SMTP_DOMAIN=$DOMAIN"
  echo "SMTP_USER=$SASL_USER@$DOMAIN"
  echo "SMTP_PASSWORD=$SASL_PASSWORD"
  echo "SMTP_CA=$TLS/ca.pem"
  echo "SMTP_MAILDIR=$MAILDIR"
  echo "SMTP_REJECT_RCPT=reject@$DOMAIN"
  echo "SMTP_TEMPFAIL_RCPT=tempfail@$DOMAIN"
  echo "SMTP_LOG=$MAILLOG"
  echo "SMTP_STATE_DIR=$STATE"
} >"$STATE/peer.env"
chmod 600 "$STATE/peer.env"
# The settings go to stdout too, without the password, so that CI logs never carry it.
sed 's/^SMTP_PASSWORD=.*/SMTP_PASSWORD=********/' "$STATE/peer.env"
