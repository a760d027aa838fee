#!/usr/bin/env bash
# Install everything plcio's build and tests need, on Debian 12 (or newer), and check
# that it works. Idempotent: when everything is present it only checks, in a few seconds.
# A half-installed machine is repaired by running it again: where a package check cannot
# tell whether what the tests use works, the check is by function (an import, a require,
# a built library), and a failed check reinstalls what it names.
#
#   Debian packages: compilers (gcc, clang with its sanitizer runtimes), clang-format,
#     clang-tidy and cppcheck (make check), cmake, cmocka, cJSON (test vectors),
#     libyaml (sync configuration), libssl-dev (S7CommPlus TLS), libpq and zlib (historian
#     outputs), protobuf-c (Sparkplug B payloads), pip, venv and pytest
#     (the Python package: install and tests), and the foreign peers the interop tests use:
#     PostgreSQL 15 and InfluxDB 1.x (historian outputs),
#     libmodbus, pymodbus with pyserial and pyserial-asyncio (which pymodbus 3.0 imports
#     but Debian lists only as Recommends), socat, tshark; Node.js and npm for the npm peers;
#     libmicrohttpd (the HTTP output), and for its tests prometheus (promtool), chromium,
#     curl and openssl; libmosquitto (the MQTT output), mosquitto and mosquitto-clients (its tests),
#     nats-server (Sparkplug fleets); protobuf-c (Sparkplug B payloads).
#   npm packages (pinned in tests/interop/package.json and its lock file), built from
#     source on this machine (no prebuilt binary is downloaded): node-snap7 (compiles
#     snap7), nodes7, modbus-serial with serialport (native serial bindings); and
#     puppeteer-core (tests/web/package.json), which drives Debian's chromium; mqtt
#     (tests/interop/mqtt/package.json), a foreign MQTT client; sparkplug-payload
#     (tests/sparkplug/package.json), Tahu's Sparkplug B decoder.
#
# The tests run Debian's /usr/bin/python3, whatever `python3` is first on PATH (pyenv,
# a venv): Debian's Python packages are installed for it.
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
  packages=(build-essential gcc cmake make pkg-config libyaml-dev libssl-dev libpq-dev zlib1g-dev libmicrohttpd-dev
    protobuf-c-compiler libprotobuf-c-dev
    libmosquitto-dev python3 python3-pip python3-venv)
else
  packages=(
    build-essential gcc clang libclang-rt-dev cmake make pkg-config git ca-certificates
    clang-tidy clang-format cppcheck
    libcmocka-dev libcjson-dev libyaml-dev libssl-dev libpq-dev zlib1g-dev libmicrohttpd-dev
    protobuf-c-compiler libprotobuf-c-dev
    postgresql influxdb nats-server
    libmodbus-dev python3 python3-pymodbus python3-serial python3-serial-asyncio socat tshark
    python3-pip python3-venv python3-pytest
    nodejs npm mbpoll groff-base man-db
    prometheus chromium curl openssl
    libmosquitto-dev mosquitto mosquitto-clients
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

apt_updated=false
apt_install() { # [--reinstall] PACKAGE...
  if ! $apt_updated; then
    # tshark asks whether non-root users may capture; answer no, quietly.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=true
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

# Checks by function: each runs what the build or the tests use; a failure reinstalls
# the packages named, then the check must pass.
check() { # DESCRIPTION "PACKAGE..." COMMAND...
  local what=$1 pkgs=$2; shift 2
  "$@" >/dev/null 2>&1 && return 0
  echo "bootstrap: $what does not work; reinstalling $pkgs"
  # shellcheck disable=SC2086
  apt_install --reinstall $pkgs
  "$@" >/dev/null 2>&1 || { echo "bootstrap: $what still fails after reinstalling: $*" >&2; "$@" >&2 || true; exit 1; }
}
# A shared library and a program built with the sanitizers, as the second suite builds
# libplcio.so and its tests (clang's sanitizer runtimes are a package of their own).
sanitizers_link() {
  local d rc
  d=$(mktemp -d)
  printf 'int plcio_probe(int x) { return x + 1; }\n' >"$d/lib.c"
  printf 'int plcio_probe(int); int main(void) { return plcio_probe(-1); }\n' >"$d/main.c"
  clang -fsanitize=address,undefined -fPIC -shared "$d/lib.c" -o "$d/libprobe.so" &&
    clang -fsanitize=address,undefined "$d/main.c" -L"$d" -lprobe -o "$d/probe" &&
    LD_LIBRARY_PATH=$d "$d/probe"
  rc=$?
  rm -rf "$d"
  return $rc
}
check "cmake" "cmake" cmake --version
check "the C compiler" "gcc" gcc --version
# S7CommPlus TLS: OpenSSL 3's headers (libssl-dev); tests make certificates with openssl.
check "OpenSSL 3 headers" "libssl-dev" grep -q 'define OPENSSL_VERSION_MAJOR *3' /usr/include/x86_64-linux-gnu/openssl/opensslv.h /usr/include/openssl/opensslv.h
check "libmicrohttpd (the HTTP output)" "libmicrohttpd-dev" test -f /usr/include/microhttpd.h
# Sparkplug B payloads: protoc-c generates the C code at build time, libprotobuf-c runs it.
check "protoc-c and libprotobuf-c (Sparkplug B)" "protobuf-c-compiler libprotobuf-c-dev" \
  sh -c 'protoc-c --version && test -f /usr/include/protobuf-c/protobuf-c.h'
check "libmosquitto (the MQTT output)" "libmosquitto-dev" pkg-config --exists libmosquitto
if ! $build_only; then
  check "clang with AddressSanitizer and UBSan (make test's second suite)" "clang libclang-rt-dev" sanitizers_link
  check "cmocka" "libcmocka-dev" test -f /usr/include/cmocka.h
  check "pymodbus with pyserial (Debian's /usr/bin/python3)" "python3-pymodbus python3-serial python3-serial-asyncio" \
    /usr/bin/python3 -c 'import pymodbus.client, pymodbus.server, serial, serial_asyncio'
  check "pytest and pip (the Python package's tests and install)" "python3-pytest python3-pip python3-venv" \
    /usr/bin/python3 -c 'import pytest, pip, venv, ensurepip'
  check "tshark" "tshark" tshark --version
  check "socat" "socat" socat -V
  # The historian tests start their own PostgreSQL cluster (initdb, pg_ctl, psql) and influxd.
  check "PostgreSQL server and psql" "postgresql postgresql-15 postgresql-client-15" \
    sh -c 'ls /usr/lib/postgresql/*/bin/initdb && psql --version'
  check "influxd" "influxdb" influxd version
  check "mbpoll (a foreign Modbus client: FC 17 as it shows it)" "mbpoll" mbpoll -V
  check "man and groff (the generated man pages render)" "man-db groff-base" sh -c 'man --version && groff -v'
  check "node" "nodejs" node -e 'process.exit(0)'
  check "promtool (tests/web: /metrics)" "prometheus" promtool --version
  # tests/sparkplug/fleet: a 3-node NATS JetStream cluster with its MQTT listener
  check "nats-server (tests/sparkplug: the fleet)" "nats-server" nats-server --version
  # The MQTT tests start their own broker and use its command-line clients as foreign peers.
  check "mosquitto broker and clients (tests/interop/mqtt)" "mosquitto mosquitto-clients" \
    sh -c 'test -x /usr/sbin/mosquitto && mosquitto_pub --help | grep -q "mosquitto_pub version"'
  check "openssl (tests/web: a TLS certificate)" "openssl" openssl version
  # chromium as the console test starts it: headless, as root without its sandbox.
  check "headless chromium (tests/web: the console)" "chromium" \
    chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank
fi

if $build_only; then
  echo "bootstrap: ok (build dependencies)"
  exit 0
fi

# npm peers, reinstalled only when the lock file changed.
peers=tests/interop
stamp=$peers/node_modules/.plcio-lock.sha256
want=$(sha256sum "$peers/package-lock.json" | cut -d' ' -f1)
# What the tests load: every peer module, serialport's native bindings, snap7's library.
peers_work() {
  [ -f "$peers/node_modules/node-snap7/build/Release/snap7.a" ] &&
    [ -f "$peers/node_modules/@serialport/bindings-cpp/build/Release/bindings.node" ] &&
    (cd "$peers" && node -e "for (const m of ['node-snap7', 'nodes7', 'modbus-serial', 'serialport',
      '@serialport/bindings-cpp']) require(m)") >/dev/null 2>&1
}
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! peers_work; then
  echo "bootstrap: installing npm test peers (node-snap7 compiles snap7, serialport its bindings: about 30 s)"
  for d in /usr /usr/local; do
    if [ -f "$d/include/node/node.h" ]; then export npm_config_nodedir=$d; break; fi
  done
  # --foreground-scripts: install scripts one after the other; Debian 12's npm 9 can die
  # with "Exit handler never called" while building two native modules at once.
  # npm_config_build_from_source: serialport compiles its bindings here instead of
  # loading the prebuilt ones its package carries.
  (cd "$peers" && rm -rf node_modules && npm_config_build_from_source=true npm ci --no-audit --no-fund --loglevel=error --foreground-scripts >npm-install.log 2>&1) || {
    cat "$peers/npm-install.log" >&2; echo "bootstrap: npm ci failed" >&2; exit 1; }
  peers_work || {
    cat "$peers/npm-install.log" >&2
    (cd "$peers" && node -e "for (const m of ['node-snap7', 'nodes7', 'modbus-serial', 'serialport',
      '@serialport/bindings-cpp']) require(m)") >&2 || true
    echo "bootstrap: the npm test peers do not load after npm ci (see above)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# puppeteer-core for the console test (no browser download: it drives Debian's chromium).
web=tests/web
web_stamp=$web/node_modules/.plcio-lock.sha256
web_want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
web_works() { (cd "$web" && node -e "require('puppeteer-core')") >/dev/null 2>&1; }
if [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_want" ] || ! web_works; then
  echo "bootstrap: installing puppeteer-core for the console test"
  (cd "$web" && rm -rf node_modules && npm ci --no-audit --no-fund --loglevel=error >npm-install.log 2>&1) || {
    cat "$web/npm-install.log" >&2; echo "bootstrap: npm ci in $web failed" >&2; exit 1; }
  web_works || { echo "bootstrap: puppeteer-core does not load after npm ci in $web" >&2; exit 1; }
  echo "$web_want" > "$web_stamp"
fi
# Tahu's sparkplug-payload, the foreign Sparkplug B decoder of tests/sparkplug.
spb=tests/sparkplug
spb_stamp=$spb/node_modules/.plcio-lock.sha256
spb_want=$(sha256sum "$spb/package-lock.json" | cut -d' ' -f1)
spb_works() { (cd "$spb" && node -e "require('sparkplug-payload').get('spBv1.0')") >/dev/null 2>&1; }
if [ "$(cat "$spb_stamp" 2>/dev/null)" != "$spb_want" ] || ! spb_works; then
  echo "bootstrap: installing sparkplug-payload for the Sparkplug tests"
  (cd "$spb" && rm -rf node_modules && npm ci --no-audit --no-fund --loglevel=error >npm-install.log 2>&1) || {
    cat "$spb/npm-install.log" >&2; echo "bootstrap: npm ci in $spb failed" >&2; exit 1; }
  spb_works || { echo "bootstrap: sparkplug-payload does not load after npm ci in $spb" >&2; exit 1; }
  echo "$spb_want" > "$spb_stamp"
fi
# npm mqtt, a foreign MQTT client for the MQTT output's test (pinned in tests/interop/mqtt).
mq=tests/interop/mqtt
mq_stamp=$mq/node_modules/.plcio-lock.sha256
mq_want=$(sha256sum "$mq/package-lock.json" | cut -d' ' -f1)
mq_works() { (cd "$mq" && node -e "require('mqtt')") >/dev/null 2>&1; }
if [ "$(cat "$mq_stamp" 2>/dev/null)" != "$mq_want" ] || ! mq_works; then
  echo "bootstrap: installing npm mqtt for the MQTT test"
  (cd "$mq" && rm -rf node_modules && npm ci --no-audit --no-fund --loglevel=error >npm-install.log 2>&1) || {
    cat "$mq/npm-install.log" >&2; echo "bootstrap: npm ci in $mq failed" >&2; exit 1; }
  mq_works || { echo "bootstrap: npm mqtt does not load after npm ci in $mq" >&2; exit 1; }
  echo "$mq_want" > "$mq_stamp"
fi
echo "bootstrap: ok"
