#!/usr/bin/env bash
# Builds clawft-wamr, the WAMR host the tests run wasm in (scripts/wamr/main.c, docs/device.md),
# into the git-ignored cache .wamr/, only when it is missing or its inputs changed.
#
# WAMR is in neither Debian nor npm. Its C source comes from crates.io with cargo only: the
# `wamrx-sys` crate vendors WAMR's core/ and build-scripts/ (no product-mini/, hence our own
# main.c). A throwaway Cargo project in .wamr/fetch depends on the crate at a pinned version;
# `cargo fetch` downloads it and `cargo metadata` says where cargo unpacked it. Nothing is
# cloned and no binary is downloaded; the host is compiled here with cmake and cc.
#
# Builds: .wamr/bin/clawft-wamr (fast interpreter, no SIMD: runs the scalar builds) and, when
# Debian's libsimde-dev is installed, .wamr/bin/clawft-wamr-simd (WAMR_BUILD_SIMD=1 on the
# system SIMDe headers instead of the network fetch WAMR's cmake would do).
#
# Usage: scripts/wamr.sh [--force]    prints the WAMR version built; exit 1 on failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.wamr"
CRATE=wamrx-sys
CRATE_VERSION=0.3.0 # vendors WAMR 2.4.3

inputs_hash() {
  cat "$root/scripts/wamr.sh" "$root/scripts/wamr/main.c" "$root/scripts/wamr/CMakeLists.txt" | sha256sum | cut -d' ' -f1
}
want="$(inputs_hash)"
if [ "${1:-}" != "--force" ] && [ -x "$cache/bin/clawft-wamr" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$want" ]; then
  cat "$cache/VERSION"
  exit 0
fi

export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin" # rustup's cargo, where a login shell would find it
command -v cargo >/dev/null || { echo "scripts/wamr.sh: cargo not found (WAMR's source comes from crates.io)" >&2; exit 1; }
command -v cmake >/dev/null || { echo "scripts/wamr.sh: cmake not found" >&2; exit 1; }
mkdir -p "$cache/fetch/src" "$cache/bin"

# 1. The source, through cargo.
cat >"$cache/fetch/Cargo.toml" <<TOML
[package]
name = "clawft-wamr-source"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$CRATE = { version = "=$CRATE_VERSION", default-features = false }
TOML
: >"$cache/fetch/src/lib.rs"
host_triple="$(rustc -vV | sed -n 's/^host: //p')"
(cd "$cache/fetch" && cargo fetch --quiet --target "$host_triple")
crate_dir="$(cd "$cache/fetch" && cargo metadata --quiet --offline --format-version 1 --filter-platform "$host_triple" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s).packages.find(p=>p.name===process.argv[1]);if(!p)process.exit(1);console.log(require("path").dirname(p.manifest_path))})' "$CRATE")"
rm -rf "$cache/src"
cp -r "$crate_dir/wasm-micro-runtime" "$cache/src"
version="$(sed -n 's/^set(WAMR_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))/\2/p' "$cache/src/build-scripts/version.cmake" | paste -sd.)"

# 2. The hosts.
build() { # <variant dir> <binary name> <cmake args…>
  local dir="$cache/$1" name="$2"
  shift 2
  rm -rf "$dir"
  cmake -S "$root/scripts/wamr" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DWAMR_ROOT="$cache/src" "$@" >"$dir.log" 2>&1 &&
    cmake --build "$dir" --target clawft-wamr -j 2 >>"$dir.log" 2>&1 &&
    cp "$dir/clawft-wamr" "$cache/bin/$name"
}
rm -f "$cache/bin/clawft-wamr" "$cache/bin/clawft-wamr-simd"
build build-scalar clawft-wamr -DWAMR_BUILD_SIMD=0 || { tail -30 "$cache/build-scalar.log" >&2; exit 1; }
simd="no SIMD build (install Debian's libsimde-dev for one)"
if [ -f /usr/include/simde/wasm/simd128.h ]; then
  if build build-simd clawft-wamr-simd -DWAMR_BUILD_SIMD=1 -DFETCHCONTENT_FULLY_DISCONNECTED=ON -DFETCHCONTENT_SOURCE_DIR_SIMDE=/usr/include; then
    simd="SIMD build on Debian's SIMDe $(dpkg-query -W -f='${Version}' libsimde-dev 2>/dev/null)"
  else
    simd="SIMD build failed (see .wamr/build-simd.log)"
  fi
fi
echo "WAMR $version (crates.io $CRATE $CRATE_VERSION), fast interpreter; $simd" >"$cache/VERSION"
echo "$want" >"$cache/stamp"
cat "$cache/VERSION"
