#!/usr/bin/env bash
# handshake.sh: benchmark 4, connect -> WELCOME handshakes per second, arenad vs the bench-greet
# accept loop (target: arenad >= 0.7x the baseline).
#
# CONC bots (default 100) each loop: connect, HELLO, wait for WELCOME, close, again, from 8
# loopback source addresses (the client side of each closed connection sits in TIME_WAIT).
# Both servers get WORKERS processes/threads (default: the CPU count).
# Usage: bench/handshake.sh [SECONDS]   (default 10 per run; under a minute)
source "$(dirname "$0")/lib.sh"

secs=${1:-10}
conc=${CONC:-100}
workers=${WORKERS:-$(nproc)}
bench_build
say "machine: $(machine_facts)"
check_quiet

common=(--handshake --bots "$conc" --procs 2 --source "$SOURCES" --duration "$secs"
	--connect-rate 0)
port=$(free_port)
start_arenad "$port" "$workers" max_clients=100000 max_clients_per_ip=100000 \
	max_players=100000 idle_timeout=10m
run_bots "$BENCH_TMP/arenad.json" --target "127.0.0.1:$port" "${common[@]}"
stop_pid "$ARENAD_PID"

port=$(free_port)
start_baseline bench-greet "$port" "$workers"
run_bots "$BENCH_TMP/greet.json" --target "127.0.0.1:$port" "${common[@]}"
stop_pid "$BASE_PID"

a=$(jget "$BENCH_TMP/arenad.json" 'd["rates_per_s"]["handshakes"]')
b=$(jget "$BENCH_TMP/greet.json" 'd["rates_per_s"]["handshakes"]')
ap=$(jget "$BENCH_TMP/arenad.json" 'd["latency_us"]["connect"]["p99"] / 1000')
bp=$(jget "$BENCH_TMP/greet.json" 'd["latency_us"]["connect"]["p99"] / 1000')
ae=$(jget "$BENCH_TMP/arenad.json" 'd["errors"]["total"]')
echo "| concurrent handshake loops | arenad handshakes/s | bench-greet handshakes/s | ratio (target >= 0.7) | arenad p99 ms | bench-greet p99 ms | arenad errors |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '| %d | %.0f | %.0f | %s | %.2f | %.2f | %d |\n' "$conc" "$a" "$b" "$(ratio "$a" "$b")" \
	"$ap" "$bp" "$ae"
