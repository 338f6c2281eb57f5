#!/usr/bin/env bash
# handshake.sh: benchmark 4, connect -> WELCOME handshakes per second, arenad vs the bench-greet
# accept loop (target: arenad >= 0.7x the baseline).
#
# CONC bots (default 100) each loop: connect, HELLO, wait for WELCOME, close, again, from 8
# loopback source addresses (the client side of each closed connection sits in TIME_WAIT).
# Both servers get WORKERS processes/threads (default: the CPU count). The pair of runs is
# repeated REPEAT times (default 3), alternating the servers; the row shows medians and ranges.
# Usage: bench/handshake.sh [SECONDS]   (default 10 per run; about 2 minutes)
source "$(dirname "$0")/lib.sh"

secs=${1:-10}
repeat=${REPEAT:-3}
conc=${CONC:-100}
workers=${WORKERS:-$(nproc)}
bench_begin

common=(--handshake --bots "$conc" --procs 2 --source "$SOURCES" --duration "$secs"
	--connect-rate 0)
ra=() rb=() pa=() pb=() errs=0
for rep in $(seq "$repeat"); do
	port=$(free_port)
	start_arenad "$port" "$workers" max_clients=100000 max_clients_per_ip=100000 \
		max_players=100000 idle_timeout=10m
	run_bots "$BENCH_TMP/arenad-$rep.json" --target "127.0.0.1:$port" "${common[@]}"
	stop_pid "$ARENAD_PID"
	port=$(free_port)
	start_baseline bench-greet "$port" "$workers"
	run_bots "$BENCH_TMP/greet-$rep.json" --target "127.0.0.1:$port" "${common[@]}"
	stop_pid "$BASE_PID"
	ra+=("$(jget "$BENCH_TMP/arenad-$rep.json" 'd["rates_per_s"]["handshakes"]')")
	rb+=("$(jget "$BENCH_TMP/greet-$rep.json" 'd["rates_per_s"]["handshakes"]')")
	pa+=("$(jget "$BENCH_TMP/arenad-$rep.json" 'd["latency_us"]["connect"]["p99"] / 1000')")
	pb+=("$(jget "$BENCH_TMP/greet-$rep.json" 'd["latency_us"]["connect"]["p99"] / 1000')")
	errs=$((errs + $(jget "$BENCH_TMP/arenad-$rep.json" 'd["errors"]["total"]')))
done
a=$(median "${ra[@]}")
b=$(median "${rb[@]}")
echo "| concurrent handshake loops | arenad handshakes/s | bench-greet handshakes/s | ratio (target >= 0.7) | arenad p99 ms | bench-greet p99 ms | arenad errors | runs (arenad range; greet range) |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :-- |"
printf '| %d | %.0f | %.0f | %s | %.2f | %.2f | %d | %d (%s; %s) |\n' "$conc" "$a" "$b" \
	"$(ratio "$a" "$b")" "$(median "${pa[@]}")" "$(median "${pb[@]}")" "$errs" "$repeat" \
	"$(spread "${ra[@]}")" "$(spread "${rb[@]}")"
