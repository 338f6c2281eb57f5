#!/bin/sh
# install-conf.sh: install the sample arenad.conf, but never over an existing one.
#
# Run by `meson install` with the sample's path and the target directory (the sysconfdir
# option + "/arena", relative to the prefix unless absolute). A relative directory goes under
# $MESON_INSTALL_DESTDIR_PREFIX; an absolute one (e.g. /etc) under $DESTDIR, so staged installs
# work in both cases. An existing file is kept: it holds the administrator's settings.
set -eu

src=$1
dir=$2

case $dir in
/*) dest_dir=${DESTDIR:-}$dir ;;
*) dest_dir=$MESON_INSTALL_DESTDIR_PREFIX/$dir ;;
esac
dest=$dest_dir/arenad.conf

if [ -e "$dest" ] || [ -L "$dest" ]; then
	[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Keeping existing $dest"
	exit 0
fi
[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Installing $src to $dest"
mkdir -p "$dest_dir"
cp "$src" "$dest.tmp.$$"
chmod 0644 "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
