#!/usr/bin/env bash
# Install a built fsrs tree into a temporary prefix, then build and run a
# small host program against that installation twice: through the CMake
# package (find_package(fsrs), static and shared) and through fsrs.pc.
#
# usage: test_install.sh CMAKE BINARY_DIR CONSUMER_SOURCE_DIR C_COMPILER [CONFIG]
set -euo pipefail

cmake_bin=$1
bin_dir=$2
consumer_src=$3
cc_bin=$4
config=${5:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fsrs-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

prefix=$tmp/prefix
config_args=()
build_type_args=()
if [[ -n $config ]]; then
    config_args=(--config "$config")
    build_type_args=("-DCMAKE_BUILD_TYPE=$config")
fi

echo "== install into $prefix"
"$cmake_bin" --install "$bin_dir" --prefix "$prefix" "${config_args[@]}"

for f in include/fsrs/fsrs.h include/fsrs/vm.h; do
    [[ -f $prefix/$f ]] || { echo "missing $f in the installation" >&2; exit 1; }
done
[[ -x $prefix/bin/fsrs ]] || echo "note: no fsrs program installed (no src/cli sources)"
pc_file=$(find "$prefix" -name fsrs.pc -path '*/pkgconfig/*' | head -n 1)
[[ -n $pc_file ]] || { echo "fsrs.pc was not installed" >&2; exit 1; }
pc_dir=$(dirname "$pc_file")
lib_dir=$(dirname "$pc_dir")

echo "== CMake consumer (find_package)"
"$cmake_bin" -S "$consumer_src" -B "$tmp/consumer-build" \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc_bin" \
    "${build_type_args[@]}"
"$cmake_bin" --build "$tmp/consumer-build" "${config_args[@]}"
run_one() {
    local exe
    exe=$(find "$tmp/consumer-build" -type f -name "$1" -perm -u+x | head -n 1)
    [[ -n $exe ]] || { echo "$1 was not built" >&2; exit 1; }
    "$exe"
}
run_one consumer_static
run_one consumer_shared

echo "== pkg-config consumer"
pc_flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs --static fsrs)
echo "pkg-config --cflags --libs --static fsrs: $pc_flags"
# shellcheck disable=SC2086  # the flags are meant to be split
"$cc_bin" -o "$tmp/consumer_pc" "$consumer_src/main.c" $pc_flags
LD_LIBRARY_PATH="$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/consumer_pc"

echo "install_consumer: ok"
