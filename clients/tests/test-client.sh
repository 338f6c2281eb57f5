#!/usr/bin/env bash
# test-client.sh: black-box test of arena-client's batch mode against a real arenad on loopback.
#
# Usage: test-client.sh ARENAD ARENA_CLIENT [ARENA_CLIENT_1_SCD]
#
# Starts arenad (2 workers) on a free 127.0.0.1 port and two `arena-client --batch` processes
# in room "t1", each fed commands through a FIFO so the script can react to what they print:
# "ann" moves one cell (a direction that is inside the grid and not onto "obs"), chats, sends
# a chat holding U+009B (a C1 control, valid on the wire), tries a chat holding an ESC byte
# (refused locally) and pings; "obs" watches. Checked from their stdout: both WELCOME and
# JOINED the same room, ann's SNAPSHOT acknowledges the move and shows the new cell, obs sees
# ann there, both get the CHAT_MSG, PONG is printed, the C1 chat is printed escaped and no raw
# ESC or C1 byte reaches any output. Then SIGTERM of arenad: both print BYE reason=shutdown and
# exit 0. Plus the exit statuses: a closed port gives 1 quickly, a bad command line 2, a server
# that closes without BYE 3, and a hostile server sending a chat with an ESC byte 4 (its frame
# is raw bytes on purpose: the codec cannot produce it). With the man page source given, every
# option and exit status of --help must be documented there. Every process started here is stopped
# on any exit; the scratch directory is kept (and named) only when the test fails.
set -uo pipefail
source "$(dirname "$0")/test-lib.sh"

arenad=${1:?usage: test-client.sh ARENAD ARENA_CLIENT}
client=${2:?usage: test-client.sh ARENAD ARENA_CLIENT}
manpage=${3:-}
tmp=$(mktemp -d /tmp/arena-test-client.XXXXXX)
pid=
pids=()
ok=0

cleanup() {
	exec 7>&- 8>&- 2>/dev/null
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	stop_pid "$pid"
	if [ "$ok" = 1 ]; then
		rm -rf "$tmp"
	else
		echo "# kept $tmp"
		for f in "$tmp"/*.out "$tmp"/*.err "$tmp"/arenad.log; do
			[ -s "$f" ] || continue
			echo "# --- $f"
			tail -n 20 "$f" | sed 's/^/#   /'
		done
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() {
	echo "ok - $*"
}

# Wait (at most 10 s) until file $1 has a line matching the extended regex $2.
wait_for() {
	for _ in $(seq 100); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# A one-connection hostile server: prints its port to $2, then acts out mode $1.
hostile() {
	python3 - "$1" "$2" <<'PY' &
import socket, sys, time
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(20)
open(portfile + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(portfile + ".tmp", portfile)
c, _ = s.accept()
c.settimeout(5)
try:
    c.recv(4096)  # the client's HELLO
except OSError:
    pass
if mode == "esc":
    # CHAT_MSG (0x85) whose text holds ESC [ 3 1 m: a frame the codec must reject.
    text = b"\x1b[31mred"
    payload = b"\x00\x00\x00\x07" + b"\x03eve" + b"\x02t1" + bytes([len(text)]) + text
    c.sendall(len(payload).to_bytes(2, "big") + b"\x85" + payload)
time.sleep(0.5)
c.close()
PY
	pids+=($!)
}

# ---- --help and the man page ----

"$client" --help >"$tmp/help.out" 2>&1 || fail "--help exited $?"
if [ -n "$manpage" ]; then
	opts=$(grep -oE '(^|[ ,])--?[a-zA-Z][a-z-]*' "$tmp/help.out" | sed 's/^[ ,]//' | sort -u)
	[ -n "$opts" ] || fail "no options found in --help"
	for o in $opts; do
		grep -qF -- "*$o*" "$manpage" || fail "option $o of --help is not in $manpage"
	done
	codes=$(sed -n '/^Exit status:/,$p' "$tmp/help.out" | grep -oE '^  [0-9]+' | tr -d ' ')
	[ -n "$codes" ] || fail "no exit statuses found in --help"
	for code in $codes; do
		grep -qx "\*$code\*" "$manpage" || fail "exit status $code is not in $manpage"
	done
	pass "every option and exit status of --help is in the man page"
fi

# ---- exit statuses that need no server ----

"$client" --batch >"$tmp/usage.out" 2>"$tmp/usage.err" </dev/null
rc=$?
[ "$rc" -eq 2 ] || fail "no HOST:PORT exited $rc, want 2"
"$client" --batch --name "" 127.0.0.1:1 >"$tmp/usage.out" 2>"$tmp/usage.err" </dev/null
rc=$?
[ "$rc" -eq 2 ] || fail "an empty --name exited $rc, want 2"
pass "a bad command line gives exit 2"

dead=$(free_port)
start=$SECONDS
timeout 30 "$client" --batch "127.0.0.1:$dead" >"$tmp/dead.out" 2>"$tmp/dead.err" </dev/null
rc=$?
[ "$rc" -eq 1 ] || fail "connecting to a closed port exited $rc, want 1"
[ $((SECONDS - start)) -le 5 ] || fail "connecting to a closed port took $((SECONDS - start)) s"
grep -q "cannot connect to 127.0.0.1:$dead" "$tmp/dead.err" || fail "no clear message for a closed port"
pass "a closed port fails at once with exit 1 and says why"

# ---- hostile servers ----

# Run the client against hostile server MODE; its exit status must be WANT and its stderr
# must match MESSAGE. Output in $tmp/MODE.out and $tmp/MODE.err.
against_hostile() {
	local mode=$1 want=$2 message=$3 rc
	hostile "$mode" "$tmp/$mode.port"
	wait_for "$tmp/$mode.port" . || fail "hostile server did not start"
	timeout 30 "$client" --batch --name ann "127.0.0.1:$(cat "$tmp/$mode.port")" \
		>"$tmp/$mode.out" 2>"$tmp/$mode.err" </dev/null
	rc=$?
	[ "$rc" -eq "$want" ] || fail "hostile server '$mode' gave exit $rc, want $want"
	grep -q "$message" "$tmp/$mode.err" || fail "hostile server '$mode': no '$message' message"
}

against_hostile close 3 "closed the connection"
pass "a server that closes without BYE gives exit 3"

against_hostile esc 4 "protocol error from the server"
if LC_ALL=C grep -q $'\x1b' "$tmp/esc.out" "$tmp/esc.err"; then
	fail "an ESC byte from the network reached the output"
fi
pass "a chat frame with an ESC byte is a protocol error: exit 4, nothing printed raw"

# ---- two clients against arenad ----

start_arenad 2
echo "# arenad pid $pid on 127.0.0.1:$port"

mkfifo "$tmp/obs.in" "$tmp/ann.in" || fail "mkfifo"
timeout 120 "$client" --batch --name obs --room t1 "127.0.0.1:$port" \
	<"$tmp/obs.in" >"$tmp/obs.out" 2>"$tmp/obs.err" &
obs=$!
pids+=($obs)
exec 7>"$tmp/obs.in"
wait_for "$tmp/obs.out" '^JOINED ' || fail "obs: no JOINED"

timeout 120 "$client" --batch --name ann --room t1 "127.0.0.1:$port" \
	<"$tmp/ann.in" >"$tmp/ann.out" 2>"$tmp/ann.err" &
ann=$!
pids+=($ann)
exec 8>"$tmp/ann.in"
wait_for "$tmp/ann.out" '^JOINED ' || fail "ann: no JOINED"

for who in obs ann; do
	grep -qE '^WELCOME id=[0-9]+ token=[0-9a-f]{32} resume=0 ' "$tmp/$who.out" ||
		fail "$who: no WELCOME line"
done
pass "both clients print WELCOME with id and resume token"
jo=$(grep '^JOINED ' "$tmp/obs.out" | head -n 1)
ja=$(grep '^JOINED ' "$tmp/ann.out" | head -n 1)
[[ $jo == *" name=t1 "* && ${jo%% name=*} == "${ja%% name=*}" ]] ||
	fail "not in the same room t1: '$jo' / '$ja'"
pass "both clients JOINED room t1"

field() { # field LINE KEY
	local w
	for w in $1; do
		[[ $w == "$2="* ]] && { echo "${w#*=}"; return; }
	done
}
ann_id=$(field "$(grep '^WELCOME ' "$tmp/ann.out")" id)
ax=$(field "$ja" x) ay=$(field "$ja" y) w=$(field "$ja" width) h=$(field "$ja" height)
ox=$(field "$jo" x) oy=$(field "$jo" y)
dx= dy=
for d in "1 0" "-1 0" "0 1" "0 -1" "1 1" "-1 -1" "1 -1" "-1 1"; do
	set -- $d
	nx=$((ax + $1)) ny=$((ay + $2))
	if [ "$nx" -ge 0 ] && [ "$nx" -lt "$w" ] && [ "$ny" -ge 0 ] && [ "$ny" -lt "$h" ] &&
		! { [ "$nx" -eq "$ox" ] && [ "$ny" -eq "$oy" ]; }; then
		dx=$1 dy=$2
		break
	fi
done
[ -n "$dx" ] || fail "no free cell next to ann"

printf 'move %s %s\n' "$dx" "$dy" >&8
wait_for "$tmp/ann.out" "^SNAPSHOT .* ack=1 .*players=(.*;)?$ann_id:$nx,$ny," ||
	fail "ann: no SNAPSHOT acknowledging the move at ($nx,$ny)"
pass "the mover's SNAPSHOT acknowledges its MOVE and shows it at ($nx,$ny)"
wait_for "$tmp/obs.out" "^SNAPSHOT .*players=(.*;)?$ann_id:$nx,$ny," ||
	fail "obs: never saw ann at ($nx,$ny)"
pass "the other client sees the mover at its new cell"

printf 'chat hello from ann\n' >&8
for who in ann obs; do
	wait_for "$tmp/$who.out" "^CHAT_MSG from=$ann_id name=ann room=t1 text=hello from ann$" ||
		fail "$who: no CHAT_MSG"
done
pass "both clients get the CHAT_MSG"

printf 'chat c1\xc2\x9b[31mred\n' >&8
for who in ann obs; do
	wait_for "$tmp/$who.out" '^CHAT_MSG .* text=c1\\xc2\\x9b\[31mred$' ||
		fail "$who: the C1 chat is not printed escaped"
done
pass "a chat with a C1 control (U+009B) is printed escaped as \\xc2\\x9b"

printf 'chat esc\x1b[31mred\n' >&8
wait_for "$tmp/ann.err" 'line 4: chat text must be' || fail "ann: a chat with ESC was not refused"
pass "a chat with an ESC byte is refused locally with a message"

printf 'ping\n' >&8
wait_for "$tmp/ann.out" '^PONG rtt_ms=[0-9]+$' || fail "ann: no PONG"
pass "ping prints PONG rtt_ms"

printf 'bogus command\nping\n' >&8
wait_for "$tmp/ann.err" 'line 6: unknown command' || fail "ann: no error for an unknown command"
for _ in $(seq 100); do
	[ "$(grep -c '^PONG ' "$tmp/ann.out")" -ge 2 ] && break
	sleep 0.1
done
[ "$(grep -c '^PONG ' "$tmp/ann.out")" -ge 2 ] || fail "ann: no PONG after a bad line"
pass "an unknown command is reported on stderr and the client goes on"

for f in obs.out obs.err ann.out ann.err; do
	if LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$tmp/$f"; then
		fail "$f holds a raw control byte"
	fi
done
pass "no raw control byte (C0, DEL, C1) in any output"

kill -TERM "$pid"
for who in obs ann; do
	p=${!who}
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && fail "$who still running 10 s after arenad's SIGTERM"
	wait "$p"
	rc=$?
	[ "$rc" -eq 0 ] || fail "$who exited $rc after BYE(shutdown), want 0"
	grep -q '^BYE reason=shutdown code=1 ' "$tmp/$who.out" || fail "$who: no BYE reason=shutdown"
done
pass "SIGTERM of arenad: both print BYE reason=shutdown and exit 0"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "arenad exited $rc after SIGTERM"
ok=1
