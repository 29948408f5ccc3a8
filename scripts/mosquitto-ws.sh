#!/usr/bin/env bash
# Builds mosquitto with a usable WebSocket listener into the git-ignored cache .bench/, for the
# single-hop row of `npm run bench -- relay` (bench/relay-load.ts), which compares the relay
# with mosquitto over WebSocket. Not needed by the tests.
#
# Why a build: Debian 12's mosquitto 2.0.11 is built without WebSocket support (a
# `protocol websockets` listener exits with "Unable to start any listening sockets"), and
# Debian's libwebsockets 4.1.6 is built without LWS_WITH_EXTERNAL_POLL, which mosquitto needs
# for WebSocket clients on its own event loop (without it mosquitto warns at compile time that
# "Websocket performance will be unusable"). So both are built here from Debian's own source
# tarballs (the .orig.tar.gz of the packages the machine runs, from the Debian archive's pool,
# checked against pinned SHA-256 sums): libwebsockets static, with external poll and without
# TLS; mosquitto 2.0.11 against it, without TLS, cJSON or docs. Needs cmake, cc, make, curl and
# Debian's libcap-dev (libwebsockets links libcap when it finds it).
#
# Usage: scripts/mosquitto-ws.sh [--force]   prints the path of the binary; exit 1 on failure.
# The bench uses it when it exists (or the binary named by CLAWFT_MOSQUITTO).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.bench/mosquitto-ws"
POOL=http://deb.debian.org/debian/pool/main
MOSQUITTO=mosquitto_2.0.11.orig.tar.gz
MOSQUITTO_SHA256=7b36a7198bce85cf31b132f5c6ee36dcf5dadf86fb768501eb1e11ce95d4f78a
LWS=libwebsockets_4.1.6.orig.tar.gz
LWS_SHA256=402e9a8df553c9cd2aff5d7a9758e9e5285bf3070c82539082864633db3deb83

if [ "${1:-}" != "--force" ] && [ -x "$cache/bin/mosquitto" ]; then
  echo "$cache/bin/mosquitto"
  exit 0
fi
for tool in cmake cc make curl; do
  command -v "$tool" >/dev/null || { echo "scripts/mosquitto-ws.sh: $tool not found" >&2; exit 1; }
done
rm -rf "$cache"
mkdir -p "$cache/src" "$cache/bin"

fetch() { # <pool path> <file> <sha256>
  curl -fsSL -o "$cache/src/$2" "$POOL/$1/$2"
  echo "$3  $cache/src/$2" | sha256sum -c --quiet - || { echo "scripts/mosquitto-ws.sh: $2 does not match its pinned SHA-256" >&2; exit 1; }
  tar -xzf "$cache/src/$2" -C "$cache/src"
}
fetch libw/libwebsockets "$LWS" "$LWS_SHA256"
fetch m/mosquitto "$MOSQUITTO" "$MOSQUITTO_SHA256"

# libwebsockets: static, external poll (mosquitto drives the sockets), no TLS, no test apps.
lws_src="$cache/src/libwebsockets-4.1.6"
cmake -S "$lws_src" -B "$lws_src/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$cache/lws" \
  -DLWS_WITH_EXTERNAL_POLL=ON -DLWS_WITH_SSL=OFF -DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF \
  -DLWS_WITH_SHARED=OFF -DLWS_WITH_STATIC=ON >"$cache/lws.log" 2>&1 || { tail -20 "$cache/lws.log" >&2; exit 1; }
make -C "$lws_src/build" -j"$(nproc)" install >>"$cache/lws.log" 2>&1 || { tail -20 "$cache/lws.log" >&2; exit 1; }

# mosquitto: the broker only; libcap after libwebsockets (its static archive needs it).
mq_src="$cache/src/mosquitto-2.0.11"
make -C "$mq_src" -j"$(nproc)" WITH_WEBSOCKETS=yes WITH_TLS=no WITH_CJSON=no WITH_DOCS=no \
  CFLAGS="-O2 -I$cache/lws/include" LDFLAGS="-L$cache/lws/lib" LDADD="-lcap" binary >"$cache/mosquitto.log" 2>&1 ||
  { tail -20 "$cache/mosquitto.log" >&2; exit 1; }
if grep -q "LWS_WITH_EXTERNAL_POLL" "$cache/mosquitto.log"; then
  echo "scripts/mosquitto-ws.sh: mosquitto was built against a libwebsockets without external poll" >&2
  exit 1
fi
cp "$mq_src/src/mosquitto" "$cache/bin/mosquitto"
echo "$cache/bin/mosquitto"
