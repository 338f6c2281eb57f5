#!/bin/sh
# test-units.sh: systemd-analyze verify accepts arenad.service and arenad.socket (offline).
#
# verify insists that ExecStart= names an existing executable, so the generated unit is copied
# into a scratch directory with ExecStart= pointing at the arenad just built (everything else
# unchanged) next to the socket unit. Any output at all (unknown keys, bad values, a socket
# without its service) fails the test, because verify exits 0 on mere warnings. The offline
# security review must stay at or below the exposure recorded in docs/DEPLOY.md.
#
# usage: test-units.sh SERVICE SOCKET ARENAD [MAX_EXPOSURE_TIMES_10]
set -eu

service=$1
socket=$2
arenad=$3
max_exposure=${4:-15}
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { echo "not ok - $*"; exit 1; }

command -v systemd-analyze >/dev/null || { echo "1..0 # SKIP no systemd-analyze"; exit 77; }
[ -x "$arenad" ] || fail "$arenad is not executable"

tmp=$(mktemp -d /tmp/arena-units-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

if grep -n '@[A-Za-z_]*@' "$service"; then
	fail "unsubstituted @...@ left in $service"
fi
grep -Eq '^ExecStart=/[^ ]*/arenad -c /[^ ]*/arena/arenad\.conf$' "$service" ||
	fail "ExecStart= is not '<sbindir>/arenad -c <sysconfdir>/arena/arenad.conf'"
ok "generated unit is fully substituted: $(grep '^ExecStart=' "$service")"

sed "s|^ExecStart=[^ ]*|ExecStart=$arenad|" "$service" >"$tmp/arenad.service"
cp "$socket" "$tmp/arenad.socket"

out=$(cd "$tmp" && systemd-analyze verify --man=no ./arenad.service ./arenad.socket 2>&1) ||
	{ printf '%s\n' "$out" | sed 's/^/#   /'; fail "systemd-analyze verify failed"; }
[ -z "$out" ] || { printf '%s\n' "$out" | sed 's/^/#   /'; fail "systemd-analyze verify warned"; }
ok "systemd-analyze verify arenad.service arenad.socket: clean"

out=$(cd "$tmp" && systemd-analyze security --offline=true --threshold="$max_exposure" \
	./arenad.service 2>&1) ||
	{ printf '%s\n' "$out" | grep -v '✓' | sed 's/^/#   /'
	  fail "exposure above $max_exposure/10"; }
ok "$(printf '%s\n' "$out" | grep 'Overall exposure' | sed 's/^→ //')"

# Invariants between the unit and the daemon's defaults (config/arena_config.h, arenad.conf).
value() { sed -n "s/^$1=//p" "$service" | tail -n 1; }
[ "$(value Type)" = notify ] || fail "Type= is not notify"
[ "$(value NotifyAccess)" = main ] || fail "NotifyAccess= is not main"
[ "$(value KillMode)" = mixed ] || fail "KillMode= is not mixed"
stop=$(value TimeoutStopSec | sed 's/s$//')
[ "$stop" -gt 5 ] || fail "TimeoutStopSec=$stop is not above the default drain_timeout (5 s)"
wd=$(value WatchdogSec | sed 's/s$//')
[ "$wd" -gt 3 ] || fail "WatchdogSec=$wd is not above the default heartbeat_timeout (3 s)"
nofile=$(value LimitNOFILE)
[ "$nofile" -gt 10000 ] || fail "LimitNOFILE=$nofile does not fit the default max_clients"
[ "$(value StateDirectory)" = arena ] || fail "StateDirectory= is not arena (/var/lib/arena)"
grep -q '^BindIPv6Only=both$' "$socket" || fail "the socket is not dual-stack"
grep -q '^ListenStream=7777$' "$socket" || fail "the socket does not listen on 7777"
ok "unit settings agree with the daemon's defaults"
echo "1..$n"
