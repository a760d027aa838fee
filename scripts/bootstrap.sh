#!/usr/bin/env bash
# Install everything plcio's build and tests need, on Debian 12 (or newer).
# Idempotent: when everything is present it only checks, in about a second.
#
#   Debian packages: compilers (gcc, clang), clang-tidy and cppcheck (make check), cmake,
#     cmocka, cJSON (test vectors),
#     libyaml (sync configuration), and the foreign peers the interop tests use:
#     libmodbus, pymodbus, socat, tshark; Node.js and npm for the npm peers.
#   npm packages (pinned in tests/interop/package.json and its lock file):
#     node-snap7 (compiles snap7 from source), nodes7, modbus-serial.
#
# Runs as root, or through sudo when not root.
#
#   scripts/bootstrap.sh           everything (build, tests, foreign peers)
#   scripts/bootstrap.sh --build   only what building and running plcio needs (make, make demo)
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=false
[ "${1:-}" = "--build" ] && build_only=true

if $build_only; then
  packages=(build-essential gcc cmake make pkg-config libyaml-dev python3)
else
  packages=(
    build-essential gcc clang cmake make pkg-config git ca-certificates
    clang-tidy cppcheck
    libcmocka-dev libcjson-dev libyaml-dev
    libmodbus-dev python3 python3-pymodbus socat tshark
    nodejs npm
  )
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "bootstrap: need root or sudo to run: $*" >&2; exit 1
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }

missing=()
for p in "${packages[@]}"; do
  case "$p" in
    # Node.js may come from elsewhere than Debian (nodesource, a distro image): any
    # working node and npm will do.
    nodejs) have_cmd node || missing+=("$p") ;;
    npm) have_cmd npm || missing+=("$p") ;;
    *) installed "$p" || missing+=("$p") ;;
  esac
done
# node-gyp builds node-snap7 against the local Node.js headers (no download).
if ! $build_only && ! [ -f /usr/include/node/node.h ] && ! [ -f /usr/local/include/node/node.h ]; then
  installed libnode-dev || missing+=(libnode-dev)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no, quietly.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if $build_only; then
  echo "bootstrap: ok (build dependencies)"
  exit 0
fi

# npm peers, reinstalled only when the lock file changed.
peers=tests/interop
stamp=$peers/node_modules/.plcio-lock.sha256
want=$(sha256sum "$peers/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! [ -f "$peers/node_modules/node-snap7/build/Release/snap7.a" ]; then
  echo "bootstrap: installing npm test peers (node-snap7 compiles snap7, about 20 s)"
  for d in /usr /usr/local; do
    if [ -f "$d/include/node/node.h" ]; then export npm_config_nodedir=$d; break; fi
  done
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
  [ -f "$peers/node_modules/node-snap7/build/Release/snap7.a" ] || {
    echo "bootstrap: node-snap7 did not build snap7" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
echo "bootstrap: ok"
