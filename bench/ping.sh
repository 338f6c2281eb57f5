#!/usr/bin/env bash
# ping.sh: benchmark 1, PING round trips per second at 50 and 1000 connections, arenad vs the
# bench-echo baseline (target: arenad >= 0.85x the baseline).
#
# Closed loop: every connection keeps one PING in flight and sends the next when its PONG
# arrives, so the rate is what the server (and the loopback, and the bots sharing the CPUs)
# can turn around. Both servers get the same number of processes/threads (WORKERS, default
# the CPU count) and the same bots. Each pair of runs is repeated REPEAT times (default 3),
# alternating the servers; the row shows the medians and the range of the rates.
# Usage: bench/ping.sh [SECONDS]   (default 10 per run; about 3 minutes in all)
source "$(dirname "$0")/lib.sh"

secs=${1:-10}
repeat=${REPEAT:-3}
workers=${WORKERS:-$(nproc)}
bench_begin

echo "| connections | arenad round trips/s | bench-echo round trips/s | ratio (target >= 0.85) | arenad p99 ms | bench-echo p99 ms | runs (arenad range; echo range) |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | :-- |"
for conns in 50 1000; do
	procs=$((conns >= 1000 ? 2 : 1))
	common=(--ping --bots "$conns" --procs "$procs" --source "$SOURCES" --duration "$secs"
		--connect-rate 0)
	ra=() rb=() pa=() pb=()
	# alternate the two servers so a disturbance on the machine hits both alike
	for rep in $(seq "$repeat"); do
		port=$(free_port)
		start_arenad "$port" "$workers" max_clients=100000 max_clients_per_ip=100000 \
			max_players=100000 idle_timeout=10m request_rate=1000 request_burst=10000
		run_bots "$BENCH_TMP/arenad-$conns-$rep.json" --target "127.0.0.1:$port" "${common[@]}"
		stop_pid "$ARENAD_PID"
		port=$(free_port)
		start_baseline bench-echo "$port" "$workers"
		run_bots "$BENCH_TMP/echo-$conns-$rep.json" --target "127.0.0.1:$port" "${common[@]}"
		stop_pid "$BASE_PID"
		ra+=("$(jget "$BENCH_TMP/arenad-$conns-$rep.json" 'd["inputs"]["achieved_rate"]')")
		rb+=("$(jget "$BENCH_TMP/echo-$conns-$rep.json" 'd["inputs"]["achieved_rate"]')")
		pa+=("$(jget "$BENCH_TMP/arenad-$conns-$rep.json" 'd["latency_us"]["response"]["p99"] / 1000')")
		pb+=("$(jget "$BENCH_TMP/echo-$conns-$rep.json" 'd["latency_us"]["response"]["p99"] / 1000')")
		ae=$(jget "$BENCH_TMP/arenad-$conns-$rep.json" 'd["errors"]["total"]')
		[ "$ae" = 0 ] || say "arenad run had $ae errors"
	done
	a=$(median "${ra[@]}")
	b=$(median "${rb[@]}")
	printf '| %d | %.0f | %.0f | %s | %.2f | %.2f | %d (%s; %s) |\n' "$conns" "$a" "$b" \
		"$(ratio "$a" "$b")" "$(median "${pa[@]}")" "$(median "${pb[@]}")" "$repeat" \
		"$(spread "${ra[@]}")" "$(spread "${rb[@]}")"
done
