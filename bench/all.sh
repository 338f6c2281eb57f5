#!/usr/bin/env bash
# all.sh: run every benchmark in turn (about 20 minutes) and print their tables, each under a
# heading, with the machine facts first. The commands each script ran go to stderr.
set -uo pipefail
here=$(dirname "$0")
source "$here/lib.sh"
bench_build
echo "machine: $(machine_facts)"
for b in ping players idle handshake drain metrics scale ack upgrade fanout; do
	echo
	echo "## $b"
	echo
	bash "$here/$b.sh" || echo "($b.sh failed: exit $?)"
done
