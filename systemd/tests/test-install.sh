#!/bin/sh
# test-install.sh: `meson install --destdir` puts every deployable file where the units expect it.
#
# Installs the current build into a scratch DESTDIR and checks the daemon, both units (with
# ExecStart= naming the installed daemon and config, not the DESTDIR), the man pages and the
# sample config; then edits the installed config, installs again and checks that the edit
# survived (an upgrade must never overwrite the operator's config).
#
# usage: test-install.sh MESON BUILD_ROOT SBINDIR MANDIR SYSCONFDIR UNITDIR WITH_MAN
set -eu

meson=$1
build=$2
sbindir=$3
mandir=$4
sysconfdir=$5
unitdir=$6
with_man=$7
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { echo "not ok - $*"; exit 1; }
need() { [ -f "$dest$1" ] || fail "$1 was not installed"; }

tmp=$(mktemp -d /tmp/arena-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/root

install_once() {
	if ! "$meson" install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1; then
		sed 's/^/#   /' "$tmp/install.log"
		fail "meson install --destdir failed"
	fi
}

install_once
need "$sbindir/arenad"
[ -x "$dest$sbindir/arenad" ] || fail "$sbindir/arenad is not executable"
ok "daemon: $sbindir/arenad"

if [ "$unitdir" != no ]; then
	need "$unitdir/arenad.service"
	need "$unitdir/arenad.socket"
	grep -qx "ExecStart=$sbindir/arenad -c $sysconfdir/arena/arenad.conf" \
		"$dest$unitdir/arenad.service" ||
		fail "installed ExecStart= is $(grep '^ExecStart=' "$dest$unitdir/arenad.service")"
	ok "units: $unitdir/arenad.service, arenad.socket"
fi

if [ "$with_man" = yes ]; then
	need "$mandir/man8/arenad.8"
	need "$mandir/man5/arenad.conf.5"
	grep -q '^\.TH "arenad" "8"' "$dest$mandir/man8/arenad.8" || fail "arenad.8 is not a man page"
	ok "man pages: man8/arenad.8, man5/arenad.conf.5"
fi

conf=$dest$sysconfdir/arena/arenad.conf
need "$sysconfdir/arena/arenad.conf"
ok "sample config: $sysconfdir/arena/arenad.conf"

echo "# edited by the operator" >>"$conf"
install_once
grep -qx '# edited by the operator' "$conf" || fail "a second install overwrote the config"
ok "a second install keeps the existing config"
echo "1..$n"
