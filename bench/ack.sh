#!/usr/bin/env bash
# ack.sh: benchmark 8, input latency with and without immediate_ack at PLAYERS active players
# (default 1000; 20 Hz ticks, 10 Hz inputs, rooms of 16), same bots, same server otherwise.
#
# With immediate_ack = off a MOVE is acknowledged by the next tick's SNAPSHOT, so the response
# time includes a wait of up to one tick (50 ms at 20 Hz); with immediate_ack = on (the
# default) the worker answers each MOVE at once with a SNAPSHOT to its sender. The table shows
# the response percentiles, snapshots on time, what the server sends (bytes per player per
# second, from the bots' bytes received) and the server's CPU, medians of REPEAT runs
# (default 2), the two settings alternating. Target: p99 response < 25 ms at 1000 players.
# Usage: bench/ack.sh [PLAYERS]   (10 s per run; about 1.5 minutes)
source "$(dirname "$0")/lib.sh"

n=${1:-1000}
repeat=${REPEAT:-2}
workers=${WORKERS:-$(nproc)}
secs=10
bench_begin

run() {
	local mode=$1 rep=$2 port json c0 c1 t0 t1
	port=$(free_port)
	json=$BENCH_TMP/$mode-$rep.json
	start_arenad "$port" "$workers" max_clients=200000 max_clients_per_ip=200000 \
		max_players=100000 max_rooms=10000 idle_timeout=10m immediate_ack="$mode"
	t0=$(date +%s.%N)
	c0=$(cpu_ticks "$ARENAD_PID")
	run_bots "$json" --target "127.0.0.1:$port" --bots "$n" --procs 2 --source "$SOURCES" \
		--connect-rate 2000 --duration "$secs" --input-hz 10
	c1=$(cpu_ticks "$ARENAD_PID")
	t1=$(date +%s.%N)
	stop_pid "$ARENAD_PID"
	calc "100.0 * ($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0)" >"$BENCH_TMP/$mode-$rep.cpu"
}

for rep in $(seq "$repeat"); do
	run off "$rep"
	run on "$rep"
done

col() {
	local v=() rep
	for rep in $(seq "$repeat"); do v+=("$(jget "$BENCH_TMP/$1-$rep.json" "$2")"); done
	median "${v[@]}"
}
cpu() {
	local v=() rep
	for rep in $(seq "$repeat"); do v+=("$(cat "$BENCH_TMP/$1-$rep.cpu")"); done
	median "${v[@]}"
}

echo "| immediate_ack | players | p50 response ms | p99 ms | p99.9 ms | on time % | server bytes/player/s | snapshots/player/s | errors | arenad CPU % of one core | target p99 < 25 ms |"
echo "| :-- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :-- |"
for mode in off on; do
	p99=$(col "$mode" 'd["latency_us"]["response"]["p99"] / 1000')
	printf '| %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.1f | %.0f | %.0f | %s |\n' "$mode" "$n" \
		"$(col "$mode" 'd["latency_us"]["response"]["p50"] / 1000')" "$p99" \
		"$(col "$mode" 'd["latency_us"]["response"]["p99_9"] / 1000')" \
		"$(col "$mode" '100 * (d["snapshots_on_time_ratio"] or 0)')" \
		"$(col "$mode" 'd["counters"]["bytes_in"] / d["config"]["bots"] / d["elapsed_s"]')" \
		"$(col "$mode" 'd["rates_per_s"]["snapshots"] / d["config"]["bots"]')" \
		"$(col "$mode" 'd["errors"]["total"]')" "$(cpu "$mode")" \
		"$(python3 -c 'import sys; print("met" if float(sys.argv[1]) < 25 else "missed")' "$p99")"
done
echo
echo "(medians of $repeat runs each, alternating; bytes include the JOIN/WELCOME handshake, spread over the run)"
