#!/usr/bin/env bash
# Proves that scripts/bootstrap.sh repairs a half-installed machine: it breaks what the
# tests use in three ways (a Debian package removed, a package's file deleted, the npm
# peers' native serial bindings deleted), runs bootstrap once, and checks each works again.
# Destructive on purpose: .ci/run runs it inside the fresh Debian chroot only.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${CI:-}" = true ] || { echo "bootstrap_repair: runs in CI's fresh chroot only (CI=true)" >&2; exit 2; }

works() {
  /usr/bin/python3 -c 'import pymodbus.client, serial, serial_asyncio' &&
    (cd tests/interop && node -e "require('serialport'); require('@serialport/bindings-cpp'); require('node-snap7')")
}
works || { echo "bootstrap_repair: the machine is not set up to begin with" >&2; exit 1; }

DEBIAN_FRONTEND=noninteractive apt-get remove -y -q python3-serial-asyncio >/dev/null
rm -f "$(dpkg -L python3-serial | grep '/serial/__init__.py$' | head -n 1)"
rm -rf tests/interop/node_modules/@serialport/bindings-cpp/build
if works >/dev/null 2>&1; then echo "bootstrap_repair: breaking the machine did not break it" >&2; exit 1; fi

scripts/bootstrap.sh
works
echo "bootstrap_repair: removed python3-serial-asyncio, a deleted pyserial file and serialport's bindings were all repaired by one bootstrap run"
