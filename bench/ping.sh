#!/usr/bin/env bash
# ping.sh: benchmark 1, PING round trips per second at 50 and 1000 connections, arenad vs the
# bench-echo baseline (target: arenad >= 0.85x the baseline).
#
# Closed loop: every connection keeps one PING in flight and sends the next when its PONG
# arrives, so the rate is what the server (and the loopback, and the bots sharing the CPUs)
# can turn around. Both servers get the same number of processes/threads (WORKERS, default
# the CPU count) and the same bots. Prints one markdown row per connection count.
# Usage: bench/ping.sh [SECONDS]   (default 10 per run; about 1 minute in all)
source "$(dirname "$0")/lib.sh"

secs=${1:-10}
workers=${WORKERS:-$(nproc)}
bench_build
say "machine: $(machine_facts)"
check_quiet

echo "| connections | arenad round trips/s | bench-echo round trips/s | ratio (target >= 0.85) | arenad p99 ms | bench-echo p99 ms |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
for conns in 50 1000; do
	procs=$((conns >= 1000 ? 2 : 1))
	common=(--ping --bots "$conns" --procs "$procs" --source "$SOURCES" --duration "$secs"
		--connect-rate 0)

	port=$(free_port)
	start_arenad "$port" "$workers" max_clients=100000 max_clients_per_ip=100000 \
		max_players=100000 idle_timeout=10m
	run_bots "$BENCH_TMP/arenad-$conns.json" --target "127.0.0.1:$port" "${common[@]}"
	stop_pid "$ARENAD_PID"

	port=$(free_port)
	start_baseline bench-echo "$port" "$workers"
	run_bots "$BENCH_TMP/echo-$conns.json" --target "127.0.0.1:$port" "${common[@]}"
	stop_pid "$BASE_PID"

	a=$(jget "$BENCH_TMP/arenad-$conns.json" 'd["inputs"]["achieved_rate"]')
	b=$(jget "$BENCH_TMP/echo-$conns.json" 'd["inputs"]["achieved_rate"]')
	ap=$(jget "$BENCH_TMP/arenad-$conns.json" 'd["latency_us"]["response"]["p99"] / 1000')
	bp=$(jget "$BENCH_TMP/echo-$conns.json" 'd["latency_us"]["response"]["p99"] / 1000')
	ae=$(jget "$BENCH_TMP/arenad-$conns.json" 'd["errors"]["total"]')
	[ "$ae" = 0 ] || say "arenad run had $ae errors"
	printf '| %d | %.0f | %.0f | %s | %.2f | %.2f |\n' "$conns" "$a" "$b" "$(ratio "$a" "$b")" "$ap" "$bp"
done
