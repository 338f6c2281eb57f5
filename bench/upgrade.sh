#!/usr/bin/env bash
# upgrade.sh: benchmark 9, a live binary upgrade (SIGUSR2) under load, against the same load
# without one, in the same run.
#
# PLAYERS playing bots (default 500; --reconnect, so a goodbye is followed by a resume with the
# token) and HS handshake bots (default 20: connect, HELLO, WELCOME, close, again, as fast as
# they can) run for 10 s against one arenad. In the "upgrade" run the master gets SIGUSR2 at
# 4 s; in the "baseline" run it does not. The table shows, per run: handshakes completed and
# failed (a refused, reset or unanswered connect fails), the players' resumes (ok / expired),
# connect failures and refusals, inputs lost (timed out), the p99 and max response, and how
# long the swap took (SIGUSR2 to the old master's exit, from the log).
# Usage: bench/upgrade.sh [PLAYERS] [HS]   (about 30 s)
source "$(dirname "$0")/lib.sh"

n=${1:-500}
hs=${2:-20}
workers=${WORKERS:-$(nproc)}
bench_begin

run() {
	local mode=$1 port log newpid pb ph
	port=$(free_port)
	start_arenad "$port" "$workers" max_clients=200000 max_clients_per_ip=200000 \
		max_players=100000 max_rooms=10000 idle_timeout=10m
	log=$BENCH_TMP/arenad-$port.log
	say "arena-bots: $n players --reconnect and $hs handshake bots, 10 s ($mode)"
	"$BOTS" --target "127.0.0.1:$port" --bots "$n" --source "$SOURCES" --connect-rate 2000 \
		--duration 10s --input-hz 10 --reconnect --quiet \
		--json "$BENCH_TMP/$mode-play.json" >"$BENCH_TMP/$mode-play.txt" 2>&1 &
	pb=$!
	"$BOTS" --target "127.0.0.1:$port" --bots "$hs" --source "$SOURCES" --duration 10s \
		--handshake --quiet --json "$BENCH_TMP/$mode-hs.json" >"$BENCH_TMP/$mode-hs.txt" 2>&1 &
	ph=$!
	sleep 4
	if [ "$mode" = upgrade ]; then
		date +%s.%N >"$BENCH_TMP/usr2"
		kill -USR2 "$ARENAD_PID"
	fi
	wait "$pb" "$ph"
	if [ "$mode" = upgrade ]; then
		newpid=$(sed -n 's/.*Upgrade complete: pid \([0-9]*\) serves.*/\1/p' "$log" | tail -1)
		[ -n "$newpid" ] || { tail "$log" >&2; die "the upgrade did not complete"; }
		python3 - "$log" >"$BENCH_TMP/swap-ms" <<-'PY'
			import re, sys, datetime
			t = {}
			for line in open(sys.argv[1]):
			    m = re.match(r'(\S+)Z .*master: (Received SIGUSR2|Upgrade: handed over)', line)
			    if m and m.group(2) not in t:
			        t[m.group(2)] = datetime.datetime.fromisoformat(m.group(1))
			d = t['Upgrade: handed over'] - t['Received SIGUSR2']
			print(round(d.total_seconds() * 1000))
		PY
		stop_pid "$newpid"
	else
		stop_pid "$ARENAD_PID"
	fi
}

run baseline
run upgrade

echo "| run | handshakes | handshakes failed | players resumed / expired | connect failed | refused | inputs lost | p99 response ms | max ms | swap ms |"
echo "| :-- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for mode in baseline upgrade; do
	p=$BENCH_TMP/$mode-play.json h=$BENCH_TMP/$mode-hs.json
	swap=-
	[ "$mode" = upgrade ] && swap=$(cat "$BENCH_TMP/swap-ms")
	printf '| %s | %d | %d | %d / %d | %d | %d | %d | %.1f | %.1f | %s |\n' "$mode" \
		"$(jget "$h" 'd["counters"]["handshakes"]')" \
		"$(jget "$h" 'd["errors"]["total"]')" \
		"$(jget "$p" 'd["counters"]["resumes_ok"]')" "$(jget "$p" 'd["counters"]["resumes_expired"]')" \
		"$(jget "$p" 'd["errors"]["connect_failed"] + d["errors"]["connect_timeout"]')" \
		"$(jget "$p" 'd["errors"]["refused"]["total"] + d["errors"]["bye_before_welcome"]["total"]')" \
		"$(jget "$p" 'd["inputs"]["timed_out"]')" \
		"$(jget "$p" 'd["latency_us"]["response"]["p99"] / 1000')" \
		"$(jget "$p" 'd["latency_us"]["response"]["max"] / 1000')" "$swap"
done
