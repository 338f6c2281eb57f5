#!/bin/bash
# soak.sh: minutes of bot load with churn against arenad while workers are killed and the
# configuration is reloaded, then checks that nothing leaked or went inconsistent.
#
# Design: one bash process drives everything on a one-second loop with a schedule fixed in
# advance, so the run is bounded (warm-up + minutes + settle + a fixed tail) and reproducible:
#   warm-up    arena-bots (play mode, --churn-rate, --chat-rate, --reconnect) ramp up and play;
#              at its end the baseline is sampled: fds (split into client connections and the
#              rest, see procstat.py), summed RSS of master + workers, the leaderboard;
#   chaos      every minute (at +20 s, +80 s, ...) a random worker is SIGKILLed, after counting
#              the client connections it holds (the bots' expected disconnects), and the script
#              requires a replacement within 2 s; every two minutes (at +50 s, +170 s, ...) the
#              config is rewritten (save_interval toggled, a reloadable key) and SIGHUP sent,
#              and the script requires the "Reloaded" log line; every 10 s a sample;
#   settle     the bots keep playing; the final sample is taken;
#   tail       the bots end; the daemon must be back to its idle fd count; the leaderboard is
#              asked again (every query identical), the daemon is stopped with SIGTERM (exit 0,
#              no process left) and started again on the same state dir: the leaderboard must
#              come back identical (persistence), then it is stopped again.
# Assertions: the non-client fds of the whole process tree after settle <= after warm-up (no
# growth; a warm-up sample under churn can catch a connection in hand-over or closing, which
# counts as non-client, so it may be higher; the raw totals are printed too);
# idle fds after the bots left == idle fds before they came (exactly); RSS after settle within
# 10% of RSS after warm-up; bots' errors only of the kinds a killed worker explains, bounded by
# what the victims held; leaderboard consistent every time it is asked (lb-check); no
# sanitizer report or unexpected error in the daemon's log. Exit 0 pass, 1 fail, 77 skip (a
# binary is missing). Every process started here is in its own process group and is killed on
# any exit (trap).
#
# Usage: soak.sh [--minutes M] [--bots N] [--warmup S] [--settle S] [--workers W]
#                [--arenad PATH] [--bots-bin PATH] [--lb-check PATH] [--dir DIR] [--keep]
#                [--sanitized]
# --sanitized: the binaries are built with sanitizers; RSS is then reported but not bounded
# (ASan's quarantine and shadow memory grow by design, to hundreds of MB within a minute).
# Binaries default to $ARENAD, $ARENA_BOTS, $LB_CHECK, then to ./build/.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
minutes=10
nbots=200
warmup=30
settle=20
workers=4
input_hz=10
churn_rate=2
chat_rate=1
arenad=${ARENAD:-build/server/arenad}
bots_bin=${ARENA_BOTS:-build/clients/arena-bots}
lb_check=${LB_CHECK:-build/tests/soak/lb-check}
dir=
keep=0
sanitized=0

usage() {
	sed -n '2,/^set -u/p' "$0" | sed -n 's/^# \{0,1\}//p'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=$2; shift ;;
	--bots) nbots=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--settle) settle=$2; shift ;;
	--workers) workers=$2; shift ;;
	--arenad) arenad=$2; shift ;;
	--bots-bin) bots_bin=$2; shift ;;
	--lb-check) lb_check=$2; shift ;;
	--dir) dir=$2; shift ;;
	--keep) keep=1 ;;
	--sanitized) sanitized=1 ;;
	-h | --help) usage 0 ;;
	*) echo "soak.sh: unknown argument '$1'" >&2; usage 1 >&2 ;;
	esac
	shift
done
for v in "$minutes" "$nbots" "$warmup" "$settle" "$workers"; do
	case $v in '' | *[!0-9]*) echo "soak.sh: not a number: '$v'" >&2; exit 1 ;; esac
done
[ "$minutes" -ge 1 ] && [ "$minutes" -le 1440 ] && [ "$nbots" -ge 1 ] && [ "$workers" -ge 2 ] ||
	{ echo "soak.sh: need --minutes 1..1440, --bots >= 1, --workers >= 2" >&2; exit 1; }
for b in "$arenad" "$bots_bin" "$lb_check"; do
	[ -x "$b" ] || { echo "1..0 # SKIP $b is not built"; exit 77; }
done
command -v python3 > /dev/null || { echo "1..0 # SKIP python3 is needed"; exit 77; }

if [ -z "$dir" ]; then
	dir=$(mktemp -d /tmp/arena-soak-XXXXXX) || exit 1
else
	mkdir -p "$dir" || exit 1
fi
mkdir -p "$dir/state"
log=$dir/arenad.log
conf=$dir/arenad.conf
samples=$dir/samples.tsv
events=$dir/events.tsv
master=
bots_pid=
failed=0
t_start=$(date +%s)

say() { echo "# $*"; }
check() { # check COND-EXIT-STATUS MESSAGE...
	local st=$1
	shift
	if [ "$st" -eq 0 ]; then
		echo "ok - $*"
	else
		echo "not ok - $*"
		failed=1
	fi
}
elapsed() { echo $(($(date +%s) - t_start)); }

# Kill what we started: the bots' and the daemon's process groups (each was started with
# setsid, so its pid is its group id), SIGTERM first, SIGKILL what is left after 5 s.
cleanup() {
	local st=$?
	trap - EXIT INT TERM HUP
	for pg in $bots_pid $master; do
		kill -TERM -- "-$pg" 2> /dev/null
	done
	for _ in $(seq 50); do
		alive=0
		for pg in $bots_pid $master; do
			kill -0 -- "-$pg" 2> /dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for pg in $bots_pid $master; do
		kill -KILL -- "-$pg" 2> /dev/null
	done
	wait 2> /dev/null
	if [ $failed = 0 ] && [ $st = 0 ] && [ $keep = 0 ]; then
		rm -rf "$dir"
	else
		echo "# kept $dir (config, daemon log, samples, events, bots' output)"
	fi
	exit $st
}
trap cleanup EXIT
trap 'echo "# interrupted"; failed=1; exit 1' INT TERM HUP

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
save_interval=10s
write_conf() {
	cat > "$conf" <<-EOF
		# written by soak.sh
		[server]
		listen = 127.0.0.1:$port
		workers = $workers
		max_clients = $((nbots + 100))
		# tight on purpose: per-IP counts a killed worker fails to release would surface as
		# BYE(ip limit) refusals in the bots' errors
		max_clients_per_ip = $((nbots + 50))
		log_level = info
		state_dir = $dir/state
		save_interval = $save_interval
		heartbeat_timeout = 3s
		crash_limit = 5
		crash_window = 30s
		[limits]
		# every bot comes from 127.0.0.1: matchmaking opens one room per 16 of them
		max_rooms_per_ip = 65535
		[game]
		leaderboard_size = 10
		resume_grace = 30s
	EOF
}

start_daemon() {
	setsid "$arenad" -c "$conf" >> "$log" 2>&1 < /dev/null &
	master=$!
	local deadline=$(($(date +%s) + 15))
	while [ "$(date +%s)" -lt $deadline ]; do
		if ! kill -0 "$master" 2> /dev/null; then
			wait "$master"
			echo "# arenad exited during start-up with status $?"
			master=
			return 1
		fi
		if [ "$(python3 "$here/procstat.py" workers "$master" | wc -l)" = "$workers" ] &&
			"$lb_check" -t "127.0.0.1:$port" -q 1 -T 1000 > /dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "# arenad not ready within 15 s"
	return 1
}

# Stop with SIGTERM; require exit 0 and every process of the group gone. Returns the status.
stop_daemon() {
	local what=$1 deadline=$(($(date +%s) + 20)) st
	kill -TERM "$master"
	while kill -0 "$master" 2> /dev/null && [ "$(date +%s)" -lt $deadline ]; do
		sleep 0.1
	done
	if kill -0 "$master" 2> /dev/null; then
		check 1 "$what: arenad exits within 20 s of SIGTERM"
		kill -KILL -- "-$master"
	fi
	wait "$master"
	st=$?
	check $((st != 0)) "$what: arenad exits with status 0 on SIGTERM (got $st)"
	sleep 0.2
	local left
	left=$(pgrep -g "$master" | wc -l)
	check $((left != 0)) "$what: no process of the daemon is left ($left found)"
	master=
}

sample() { # sample TAG: append one line to $samples, and echo it
	local s
	s=$(python3 "$here/procstat.py" sample "$master" "$port" 5) || return 1
	echo "$(elapsed) $1 $s" >> "$samples"
	echo "$s"
}
field() { # field NAME LINE
	local kv
	for kv in $2; do
		[ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }
	done
}
lb() { # lb TAG [lb-check options...]: query the leaderboard, checked against the previous
	local tag=$1 prev=()
	shift
	[ -f "$dir/lb.last" ] && prev=(--previous "$dir/lb.last")
	if "$lb_check" -t "127.0.0.1:$port" -n 10 -m "$max_score" -p bot- "${prev[@]}" \
		-o "$dir/lb.$tag" "$@" > "$dir/lb.$tag.out" 2>&1; then
		cp "$dir/lb.$tag" "$dir/lb.last"
		return 0
	fi
	sed 's/^/#   /' "$dir/lb.$tag.out"
	return 1
}

total=$((warmup + minutes * 60 + settle))
# A bot moves at most input_hz cells a second and a gem is worth one point per step onto it, so
# no player can have more than input_hz points per second of the whole run (resumes keep it).
max_score=$(((total + 60) * input_hz))
say "soak: $minutes min of chaos, $nbots bots, $workers workers, port $port, dir $dir"
say "arenad $arenad; arena-bots $bots_bin"

write_conf
start_daemon || { check 1 "arenad starts and serves"; exit 1; }
check 0 "arenad starts and serves (pid $master)"
idle0=$(sample idle-before) || { check 1 "sample the idle daemon"; exit 1; }
idle0_fds=$(field fds "$idle0")
say "idle: $idle0"

# The bots run for the warm-up, the chaos and the settle time, plus 5 s (ramp and the last
# queries). setsid: their own process group (arena-bots forks load processes).
setsid "$bots_bin" -t "127.0.0.1:$port" -n "$nbots" -r 100 -d "$((total + 5))s" \
	--input-hz "$input_hz" --churn-rate "$churn_rate" --chat-rate "$chat_rate" --reconnect \
	--json "$dir/bots.json" -q > "$dir/bots.out" 2>&1 < /dev/null &
bots_pid=$!

t0=$(date +%s)
chaos0=$((t0 + warmup))
chaos_end=$((chaos0 + minutes * 60))
final_at=$((chaos_end + settle))
next_sample=$((t0 + 10))
next_kill=$((chaos0 + 20))
next_hup=$((chaos0 + 50))
kills=0
kill_conns=0
hups=0
base=
echo "# t tag key=value..." > "$samples"
echo "# t event detail" > "$events"

while :; do
	now=$(date +%s)
	[ "$now" -ge $final_at ] && break
	if ! kill -0 "$master" 2> /dev/null; then
		check 1 "arenad is alive at $(elapsed) s"
		exit 1
	fi
	if ! kill -0 "$bots_pid" 2> /dev/null; then
		check 1 "arena-bots still running at $(elapsed) s"
		cat "$dir/bots.out"
		exit 1
	fi
	if [ -z "$base" ] && [ "$now" -ge $chaos0 ]; then
		base=$(sample warm) || exit 1
		say "after warm-up: $base"
		lb warm
		check $? "leaderboard consistent after warm-up"
	fi
	if [ "$now" -ge $next_kill ] && [ "$now" -lt $chaos_end ]; then
		next_kill=$((next_kill + 60))
		mapfile -t ws < <(python3 "$here/procstat.py" workers "$master")
		victim=${ws[RANDOM % ${#ws[@]}]}
		conns=$(python3 "$here/procstat.py" clients "$victim" "$port")
		kill -KILL "$victim"
		kills=$((kills + 1))
		kill_conns=$((kill_conns + conns))
		ms=$(python3 "$here/procstat.py" replaced "$master" "$victim" "$workers" 2000)
		replaced=$?
		echo "$(elapsed) kill worker $victim holding $conns clients; replaced=$((!replaced)) after ${ms} ms" >> "$events"
		check $replaced "kill $kills: worker $victim (holding $conns clients) replaced within 2 s (${ms} ms)"
		sleep 3
		lb "kill$kills"
		check $? "kill $kills: leaderboard consistent, no score went down"
	fi
	if [ "$now" -ge $next_hup ] && [ "$now" -lt $chaos_end ]; then
		next_hup=$((next_hup + 120))
		[ $save_interval = 10s ] && save_interval=11s || save_interval=10s
		write_conf
		before=$(grep -c "Reloaded the configuration" "$log")
		kill -HUP "$master"
		hups=$((hups + 1))
		ok=1
		for _ in $(seq 50); do
			if [ "$(grep -c "Reloaded the configuration" "$log")" -gt "$before" ]; then
				ok=0
				break
			fi
			sleep 0.1
		done
		echo "$(elapsed) SIGHUP save_interval=$save_interval reloaded=$((!ok))" >> "$events"
		check $ok "SIGHUP $hups: configuration reloaded within 5 s"
		n=$(python3 "$here/procstat.py" workers "$master" | wc -l)
		check $((n != workers)) "SIGHUP $hups: still $workers workers ($n)"
	fi
	if [ "$now" -ge $next_sample ]; then
		next_sample=$((next_sample + 10))
		sample run > /dev/null
	fi
	sleep 0.5
done

final=$(sample final) || { check 1 "sample the daemon at the end"; exit 1; }
say "final: $final"
lb final
check $? "leaderboard consistent at the end of the chaos, no score went down"

# fds: the part that does not depend on the clients connected must not grow past warm-up; the
# exact no-leak check is the idle comparison once the bots have left, below.
b_other=$(field other_fds "$base")
f_other=$(field other_fds "$final")
check $((f_other > b_other)) "non-client fds of master + workers: $f_other after the chaos <= $b_other after warm-up (totals with clients: $(field fds "$final") vs $(field fds "$base"))"
b_rss=$(field rss_kb "$base")
f_rss=$(field rss_kb "$final")
if [ $sanitized = 1 ]; then
	echo "ok - RSS of master + workers: $f_rss kB after the chaos, $b_rss kB after warm-up # SKIP not bounded in a sanitizer build"
else
	check $((f_rss * 10 > b_rss * 11 || f_rss * 10 < b_rss * 9)) "RSS of master + workers (own memory, the shared world excluded): $f_rss kB after the chaos, within 10% of $b_rss kB after warm-up"
fi

# The bots end on their own; give them their duration plus 30 s.
deadline=$(($(date +%s) + 40))
while kill -0 "$bots_pid" 2> /dev/null && [ "$(date +%s)" -lt $deadline ]; do
	sleep 0.5
done
if kill -0 "$bots_pid" 2> /dev/null; then
	check 1 "arena-bots ends within its duration + 30 s"
	kill -KILL -- "-$bots_pid"
fi
wait "$bots_pid"
bots_st=$?
bots_pid=
check $bots_st "arena-bots exits 0 (got $bots_st)"
sed 's/^/#   /' "$dir/bots.out"

# With every client gone the daemon is idle again: the same fds as before the bots came.
idle1=
for _ in $(seq 50); do
	idle1=$(sample idle-after) || break
	[ "$(field fds "$idle1")" = "$idle0_fds" ] && break
	sleep 0.2
done
check $(($(field fds "$idle1") != idle0_fds)) "idle fds after the bots left: $(field fds "$idle1") == $idle0_fds before they came"

# Bots' errors: only what the killed workers explain. A bot whose worker dies sees its
# connection end without BYE (unexpected_disconnect) and loses the inputs it had in flight
# (timeouts, at most input_hz x --timeout (2 s) + 1 each); nothing else is expected.
python3 - "$dir/bots.json" "$kill_conns" "$input_hz" > "$dir/bots-check.out" <<-'EOF'
	import json, sys
	j = json.load(open(sys.argv[1]))
	conns, hz = int(sys.argv[2]), int(sys.argv[3])
	e, c = j["errors"], j["counters"]
	disc = e["unexpected_disconnect"]
	def want(cond, text):
	    print(("ok - " if cond else "not ok - ") + text)
	want(disc <= conns + 2 * max(1, conns // 50),
	     f"bots: {disc} unexpected disconnects <= {conns} clients held by the killed workers")
	lost = conns * (hz * 2 + 1)
	want(e["timeout"] <= lost, f"bots: {e['timeout']} inputs timed out <= {lost} in flight on the killed workers' connections")
	for k in ("connect_failed", "connect_timeout", "output_overflow"):
	    want(e[k] == 0, f"bots: {k} == 0 (got {e[k]})")
	for k in ("refused", "bye", "protocol"):
	    want(e[k]["total"] == 0, f"bots: {k} errors == 0 (got {json.dumps(e[k])})")
	i = j["inputs"]
	want(i["sent"] == i["acked"] + i["timed_out"] + i["pending_at_end"],
	     "bots: inputs sent == acked + timed out + pending at end")
	want(j["bots"]["with_snapshot"] == j["config"]["bots"],
	     f"bots: every bot got snapshots ({j['bots']['with_snapshot']} of {j['config']['bots']})")
	print(f"# bots: inputs {i['sent']} (acked {i['acked']}), snapshots {c['snapshots']}, "
	      f"reconnects {c['reconnects']}, churn {c['churn_leaves']} leave+join / {c['churn_resumes']} resume "
	      f"(resumed {c['resumes_ok']}, expired {c['resumes_expired']}), errors {e['total']}, "
	      f"p99 response {j['latency_us']['response']['p99'] / 1000:.1f} ms")
	EOF
st=$?
cat "$dir/bots-check.out"
grep -q '^not ok' "$dir/bots-check.out" && failed=1
[ $st -ne 0 ] && check 1 "bots' JSON readable ($dir/bots.json)"

lb idle --same
check $? "leaderboard consistent and the same from every worker once the bots left"
cp "$dir/lb.idle" "$dir/lb.before-restart"
stop_daemon "first stop"

# Persistence: the same state dir, a new daemon, the same leaderboard.
start_daemon || { check 1 "arenad starts again on the same state dir"; exit 1; }
lb restarted --same
check $? "leaderboard consistent after a restart"
cmp -s "$dir/lb.before-restart" "$dir/lb.restarted"
check $? "leaderboard after the restart == before it ($(wc -l < "$dir/lb.restarted") entries)"
stop_daemon "second stop"

# The daemon's log: every worker exit was one of ours; no sanitizer report, no failure.
python3 - "$log" <<-'EOF'
	# Respawn latency as the master saw it: "worker.N (pid P) killed by signal 9 ..." to the next
	# "worker.N started"; and the connections it says each death cost.
	import re, sys
	from datetime import datetime
	died, lat, lost = {}, [], 0
	for line in open(sys.argv[1], errors="replace"):
	    m = re.match(r"(\S+Z) arenad\[\d+\] master: worker\.(\d+) \(pid \d+\) killed by signal 9.*?(\d+) connections lost", line)
	    t = lambda: datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
	    if m:
	        died[m.group(2)] = t()
	        lost += int(m.group(3))
	        continue
	    m = re.match(r"\S+Z arenad\[\d+\] master: worker\.(\d+) started", line)
	    if m and m.group(1) in died:
	        lat.append((t() - died.pop(m.group(1))).total_seconds() * 1000)
	if lat:
	    print(f"# daemon log: {len(lat)} workers killed, respawned after {min(lat):.0f}..{max(lat):.0f} ms, "
	          f"{lost} connections lost in all")
	EOF
say "daemon log: $(wc -l < "$log") lines"
bad=$(grep -E "AddressSanitizer|LeakSanitizer|runtime error|Reload failed|crash loop|wedged|Failed|core dumped" "$log" | head -5)
check $([ -z "$bad" ]; echo $?) "daemon log holds no sanitizer report or unexpected failure${bad:+: $bad}"

say "summary: $minutes min, $kills worker kills ($kill_conns clients held), $hups reloads, fds $b_other/$f_other non-client, RSS $b_rss -> $f_rss kB, bots exit $bots_st"
if [ $failed = 0 ]; then
	echo "# soak: PASS"
	exit 0
fi
echo "# soak: FAIL"
exit 1
