# lib.sh: shared helpers of the benchmark scripts (sourced, not run).
#
# Builds what the benchmarks need in a release build directory (build-bench by default,
# BENCH_BUILD overrides), starts arenad and the baselines on free loopback ports, and stops
# every process it started when the script exits, however it exits. Results are printed as
# markdown rows; the exact commands go to stderr so a row can always be reproduced.

set -uo pipefail

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_BUILD=${BENCH_BUILD:-$BENCH_TOP/build-bench}
BENCH_TMP=$(mktemp -d /tmp/arena-bench.XXXXXX)
BENCH_PIDS=()
ARENAD=$BENCH_BUILD/server/arenad
BOTS=$BENCH_BUILD/clients/arena-bots
SOURCES=127.0.0.2-127.0.0.9

bench_cleanup() {
	local p
	for p in "${BENCH_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${BENCH_PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BENCH_PIDS=()
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "# scratch files kept in $BENCH_TMP" >&2
	else
		rm -rf "$BENCH_TMP"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "# $*" >&2; }
die() {
	echo "bench: $*" >&2
	exit 1
}

# Configure (once) and build the release binaries.
bench_build() {
	if [ ! -f "$BENCH_BUILD/build.ninja" ]; then
		meson setup "$BENCH_BUILD" "$BENCH_TOP" --buildtype=release -Dtests=false \
			>"$BENCH_TMP/setup.log" 2>&1 || { cat "$BENCH_TMP/setup.log" >&2; die "meson setup failed"; }
	fi
	ninja -C "$BENCH_BUILD" server/arenad clients/arena-bots clients/bench-echo \
		clients/bench-greet clients/bench-broadcast >"$BENCH_TMP/build.log" 2>&1 ||
		{ tail -n 30 "$BENCH_TMP/build.log" >&2; die "build failed"; }
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: until the port accepts (10 s at most) while PID lives.
wait_port() {
	local port=$1 pid=$2
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || return 1
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# start_arenad PORT WORKERS [key=value ...]: the keys go to [server], [limits] or [game].
# Sets ARENAD_PID. Generous limits so the benchmark measures the server, not its guards: the
# bots come from a few loopback addresses, so max_rooms_per_ip is 65535 unless given.
start_arenad() {
	local port=$1 workers=$2
	shift 2
	local conf=$BENCH_TMP/arenad-$port.conf
	local server="" limits="" game=""
	local kv k
	case " $* " in
	*" max_rooms_per_ip="*) ;;
	*) limits="max_rooms_per_ip = 65535"$'\n' ;;
	esac
	case " $* " in
	*" admin_socket="*) ;;
	*) server="admin_socket = $BENCH_TMP/admin-$port.sock"$'\n' ;;
	esac
	for kv in "$@"; do
		k=${kv%%=*}
		case $k in
		max_payload | handshake_timeout | idle_timeout | output_buffer | input_rate | input_burst | chat_rate | chat_burst | request_rate | request_burst | flood_kick | max_rooms_per_ip)
			limits+="$k = ${kv#*=}"$'\n' ;;
		tick_rate | max_players | max_rooms | room_width | room_height | room_capacity | gems_per_room | keyframe_interval | keyframe_max | immediate_ack | resume_grace | leaderboard_size)
			game+="$k = ${kv#*=}"$'\n' ;;
		*)
			server+="$k = ${kv#*=}"$'\n' ;;
		esac
	done
	cat >"$conf" <<-EOF
		[server]
		listen = 127.0.0.1:$port
		workers = $workers
		state_dir = $BENCH_TMP/state-$port
		log_level = notice
		$server
		[limits]
		$limits
		[game]
		$game
	EOF
	say "arenad -c $conf:" "$(grep -v '^\s*$' "$conf" | tr '\n' ' ')"
	"$ARENAD" -c "$conf" 2>"$BENCH_TMP/arenad-$port.log" &
	ARENAD_PID=$!
	BENCH_PIDS+=("$ARENAD_PID")
	wait_port "$port" "$ARENAD_PID" || { tail "$BENCH_TMP/arenad-$port.log" >&2; die "arenad did not start"; }
	sleep 0.5 # every worker READY
}

# start_baseline NAME PORT THREADS: bench-echo, bench-greet or bench-broadcast, with the options
# in BASE_ARGS (if set) after the usual ones. Sets BASE_PID.
start_baseline() {
	local name=$1 port=$2 threads=$3 extra
	read -r -a extra <<<"${BASE_ARGS:-}"
	say "$name --listen 127.0.0.1:$port --threads $threads ${BASE_ARGS:-}"
	"$BENCH_BUILD/clients/$name" --listen "127.0.0.1:$port" --threads "$threads" \
		"${extra[@]+"${extra[@]}"}" 2>"$BENCH_TMP/$name-$port.log" &
	BASE_PID=$!
	BENCH_PIDS+=("$BASE_PID")
	wait_port "$port" "$BASE_PID" || die "$name did not start"
}

# stop_pid PID: SIGTERM and wait (10 s), then SIGKILL.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local p rest=()
	for p in "${BENCH_PIDS[@]}"; do [ "$p" != "$pid" ] && rest+=("$p"); done
	BENCH_PIDS=("${rest[@]+"${rest[@]}"}")
}

# run_bots JSON ARGS...: arena-bots with the given arguments, JSON to the named file. The
# exit status is kept in BOTS_RC (3 = the bots were the bottleneck: reported, not fatal).
run_bots() {
	local json=$1
	shift
	wait_quiet
	say "arena-bots $* --json $json"
	"$BOTS" "$@" --json "$json" --quiet >"$json.txt" 2>&1
	BOTS_RC=$?
	if [ "$BOTS_RC" -eq 1 ] || [ ! -s "$json" ]; then
		cat "$json.txt" >&2
		die "arena-bots failed (exit $BOTS_RC)"
	fi
}

# jget FILE EXPR: a value from a JSON file, EXPR in Python on `d`.
jget() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# daemon_pids PID: the master and its children.
daemon_pids() {
	echo "$1"
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$'
}

# mem_kib PID FIELD: sum of FIELD (Pss, Rss) over the daemon's processes, from smaps_rollup.
mem_kib() {
	local pid=$1 field=$2 total=0 p v
	for p in $(daemon_pids "$pid"); do
		v=$(awk -v f="$field:" '$1 == f { print $2 }' /proc/"$p"/smaps_rollup 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# cpu_ticks PID: utime+stime of the daemon's processes, in clock ticks.
cpu_ticks() {
	local total=0 p
	for p in $(daemon_pids "$1"); do
		total=$((total + $(awk '{ print $14 + $15 }' /proc/"$p"/stat 2>/dev/null || echo 0)))
	done
	echo "$total"
}

machine_facts() {
	local cpu
	cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
	echo "$(nproc) CPUs ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r), fd limit $(ulimit -Hn), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# cpu_busy SECONDS: percent of all CPUs busy over the next SECONDS, from /proc/stat.
cpu_busy() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
	python3 -c 'import sys; a = sys.argv[1].split(); b = sys.argv[2].split(); busy = int(b[0]) - int(a[0]); idle = int(b[1]) - int(a[1]); print("%.0f" % (100.0 * busy / max(1, busy + idle)))' "$a" "$b"
}

# Numbers from a busy machine are noise: measure how busy it is right before, and say so
# loudly when something else is running.
check_quiet() {
	local busy
	busy=$(cpu_busy 2)
	say "CPU busy before starting: $busy% (over 2 s)"
	if [ "$busy" -gt 10 ]; then
		say "WARNING: other work is running ($busy% CPU busy) and will distort these results"
		say "WARNING: (the benchmarks need the machine to themselves)"
	fi
}

# The start of every benchmark script: build, then say what machine this is (and ARGS, more
# facts worth a line) and how busy it is.
bench_begin() {
	bench_build
	say "machine: $(machine_facts)"
	[ $# -gt 0 ] && say "$*"
	check_quiet
}

# wait_quiet: with BENCH_WAIT_QUIET=1, wait (10 minutes at most) until the CPUs are at most 10%
# busy before a run, for machines shared with other work. A no-op otherwise.
wait_quiet() {
	[ "${BENCH_WAIT_QUIET:-0}" = 1 ] || return 0
	local busy waited=0
	while :; do
		busy=$(cpu_busy 2)
		[ "$busy" -le 10 ] && break
		waited=$((waited + 2))
		[ "$waited" -ge 600 ] && { say "still $busy% busy after 10 minutes; running anyway"; break; }
	done
	[ "$waited" -gt 0 ] && say "waited ${waited}s for the machine to quieten ($busy% busy)"
	return 0
}

# calc EXPR: arithmetic in Python (floats), printed.
calc() {
	python3 -c 'import sys; print(eval(sys.argv[1], {}))' "$1"
}

# median V...: the middle value (the mean of the two middle ones for an even count).
median() {
	python3 -c 'import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))' "$@"
}

# spread V...: "min-max" of the values, rounded.
spread() {
	python3 -c 'import sys; v = list(map(float, sys.argv[1:])); print("%.0f-%.0f" % (min(v), max(v)))' "$@"
}

ratio() {
	python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.2f" % (a / b) if b else "n/a")' "$1" "$2"
}
