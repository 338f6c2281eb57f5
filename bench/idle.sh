#!/usr/bin/env bash
# idle.sh: benchmark 3, 100,000 idle players in rooms: are they all held, and what does each
# cost the daemon in userspace memory (target: <= 2 KiB per player)?
#
# The bots connect at RATE per second (default 2500) from 8 loopback source addresses in 8
# load processes (the per-process fd limit is 20,000), join rooms by matchmaking and then only
# keep the connection alive (a PING every 20 s). Memory is the sum over arenad's processes of
# Pss from /proc/PID/smaps_rollup (proportional set size: the shared world is counted once, not
# once per process), sampled before the first bot and again while all players are held; the
# difference divided by the connections held at that moment (counted with ss) is the cost per
# player. Rss is shown too (it counts the shared mapping in every process). Kernel socket
# buffers are not userspace and not included.
# Idle players in a room cost the daemon one keyframe SNAPSHOT per keyframe gap each: the
# shipped defaults (keyframe_interval = 1s backing off to keyframe_max = 10s) unless KEYFRAME
# is set; KEYFRAME=1s sets both keys to 1s (no backoff: the former default), KEYFRAME=10s both
# to 10s.
# Usage: [KEYFRAME=1s] bench/idle.sh [PLAYERS]   (default 100000; about 80 seconds)
source "$(dirname "$0")/lib.sh"

n=${1:-100000}
rate=${RATE:-2500}
workers=${WORKERS:-8}
keyframe=${KEYFRAME:-}
kf=()
[ -n "$keyframe" ] && kf=(keyframe_interval="$keyframe" keyframe_max="$keyframe")
[ -n "$keyframe" ] || keyframe="1s..10s (defaults)"
procs=$(((n + 14999) / 15000))
[ "$procs" -lt 1 ] && procs=1
ramp=$(((n + rate - 1) / rate))
hold=10
bench_begin

wait_quiet
port=$(free_port)
start_arenad "$port" "$workers" max_clients=$((n + 1000)) max_clients_per_ip=$n \
	max_players=$((n + 1000)) max_rooms=$((n / 16 + 1000)) idle_timeout=10m \
	"${kf[@]+"${kf[@]}"}"
sleep 1
pss0=$(mem_kib "$ARENAD_PID" Pss)
rss0=$(mem_kib "$ARENAD_PID" Rss)

json=$BENCH_TMP/idle.json
BENCH_WAIT_QUIET=0 run_bots "$json" --target "127.0.0.1:$port" --bots "$n" --procs "$procs" --source "$SOURCES" \
	--connect-rate "$rate" --connect-timeout 30s --input-hz 0 --keepalive 20s --duration $((ramp + hold + 5)) &
bots_pid=$!
BENCH_PIDS+=("$bots_pid")
sleep $((ramp + hold))
pss1=$(mem_kib "$ARENAD_PID" Pss)
rss1=$(mem_kib "$ARENAD_PID" Rss)
# connections the server holds at that moment (from the kernel's table, server side)
conns=$(ss -Htn state established "( sport = :$port )" | wc -l)
wait "$bots_pid"
stop_pid "$ARENAD_PID"
[ -s "$json" ] || die "no results from the bots"

welcomed=$(jget "$json" 'd["bots"]["welcomed"]')
joined=$(jget "$json" 'd["counters"]["joined"]')
errors=$(jget "$json" 'd["errors"]["total"]')
echo "| players | keyframe | welcomed | joined | errors | held when sampled | Pss before MiB | Pss held MiB | bytes/player (Pss) | bytes/player (Rss sum) | target: all held, <= 2048 |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :-- |"
# per connection held when memory was sampled
held=$((conns > 0 ? conns : 1))
per=$(((pss1 - pss0) * 1024 / held))
per_rss=$(((rss1 - rss0) * 1024 / held))
printf '| %d | %s | %d | %d | %d | %d | %.1f | %.1f | %d | %d | %s |\n' "$n" "$keyframe" "$welcomed" "$joined" \
	"$errors" "$conns" "$(calc "$pss0 / 1024")" "$(calc "$pss1 / 1024")" "$per" \
	"$per_rss" "$([ "$per" -le 2048 ] && [ "$welcomed" -eq "$n" ] && echo met || echo missed)"
