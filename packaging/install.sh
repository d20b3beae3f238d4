#!/bin/sh
# Installs mcp-v8 from this release bundle (made by `make dist`): the Debian packages it needs, with apt,
# then the bundle under PREFIX/lib/mcp-v8 and PREFIX/bin/mcp-v8, a symlink to its binary. libnode and
# the other private libraries stay in PREFIX/lib/mcp-v8/lib, found through the binary's relative rpath,
# so an installed nodejs is left alone.
#   usage: ./install.sh [PREFIX]     (PREFIX defaults to /usr/local; run as root)
set -eu
PREFIX=${1:-/usr/local}
DEPENDS="@DEPENDS@"
here=$(cd "$(dirname "$0")" && pwd)

missing=""
for package in $DEPENDS; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "install.sh: installing Debian packages:$missing" >&2
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

rm -rf "$PREFIX/lib/mcp-v8"
mkdir -p "$PREFIX/lib/mcp-v8" "$PREFIX/bin"
cp -R "$here/bin" "$here/lib" "$PREFIX/lib/mcp-v8/"
ln -sf ../lib/mcp-v8/bin/mcp-v8 "$PREFIX/bin/mcp-v8"
echo "install.sh: installed $("$PREFIX/bin/mcp-v8" --version | sed 's/^/mcp-v8 /') as $PREFIX/bin/mcp-v8" >&2
