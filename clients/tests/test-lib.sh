#!/usr/bin/env bash
# test-lib.sh: what the clients' black-box test scripts share: TAP-style fail, a free loopback
# port, and starting / stopping one arenad.
#
# Sourced, not run. The caller sets $arenad (the binary) and $tmp (its scratch directory);
# start_arenad WORKERS sets $pid and $port; stop_pid PID stops a process (TERM, then KILL after
# 5 s) and reaps it.

fail() {
	echo "not ok - $*"
	exit 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_pid() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# Start arenad with WORKERS workers on a free 127.0.0.1 port, its log in $tmp/arenad.log;
# retry if someone took the port in between.
start_arenad() {
	local workers=$1 try
	for try in 1 2 3; do
		port=$(free_port) || fail "no free port"
		cat >"$tmp/arenad.conf" <<-EOC
			[server]
			listen = 127.0.0.1:$port
			workers = $workers
			state_dir = $tmp/state
			log_level = notice
		EOC
		"$arenad" -c "$tmp/arenad.conf" 2>"$tmp/arenad.log" &
		pid=$!
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				return 0
			fi
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
		echo "# arenad did not come up on port $port (try $try)"
	done
	fail "arenad did not start"
}
