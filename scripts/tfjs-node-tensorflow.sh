#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node's native binding against a pip TensorFlow's C API (libtensorflow_cc.so.2 inside the
# wheel), caches the built package and installs it into this project's node_modules (docs/tensorflow-backend.md).
#
#   scripts/tfjs-node-tensorflow.sh                       # pip download tensorflow-cpu==2.21.0 (TF_PIP_SPEC overrides)
#   scripts/tfjs-node-tensorflow.sh --wheel FILE.whl      # any TensorFlow wheel that carries the C API
#   scripts/tfjs-node-tensorflow.sh --libtensorflow DIR   # libtensorflow tarball (DIR/include, DIR/lib) or an
#                                                         # installed tensorflow package (DIR/include, DIR/*.so.2)
#
# Cache: ${TFEW_CACHE_DIR:-$HOME/.cache/tfew}/tfjs-node-<TF version>[-<flavour>]/ (stamp file written last). npm
# install prunes packages missing from package.json, tfjs-node among them: re-run this after every npm install; from
# the cache that takes seconds. Exit: 0 installed; 77 cannot build here (one line "tensorflow: skipped: <why>");
# 2 bad arguments; 1 a real failure (log tail printed). Env: TFEW_VERBOSE=1 streams the build log to stderr.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${TFEW_CACHE_DIR:-$HOME/.cache/tfew}
default_spec=${TF_PIP_SPEC:-tensorflow-cpu==2.21.0}
work=$(mktemp -d "${TMPDIR:-/tmp}/tfjs-node-tf.XXXXXX")
log=$work/build.log
# the log outlives a failed run so its tail can be read; a successful run leaves nothing behind
cleanup() {
  local status=$?
  if [[ $status -eq 0 ]]; then rm -rf "$work"; else find "$work" -mindepth 1 ! -name build.log -delete; fi
}
trap cleanup EXIT

say() { echo "tfjs-node-tensorflow: $*" >>"$log"; if [[ ${TFEW_VERBOSE:-0} == 1 ]]; then echo "$*" >&2; fi; }
# the one line CI greps for; 77 is the automake "skipped" status that .ci/run treats as not-a-failure
skip() { echo "tensorflow: skipped: $*"; exit 77; }
fail() { echo "tensorflow: failed: $* (log: $log)" >&2; tail -n 25 "$log" >&2 || true; exit 1; }
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
# runs a build step with its output in the log (and on stderr with TFEW_VERBOSE=1)
run() {
  say "\$ $*"
  if [[ ${TFEW_VERBOSE:-0} == 1 ]]; then "$@" 2>&1 | tee -a "$log" >&2; return "${PIPESTATUS[0]}"; fi
  "$@" >>"$log" 2>&1
}

parse_args() {
  wheel="" libdir=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --wheel) [[ $# -ge 2 ]] || usage; wheel=$(realpath "$2"); shift 2 ;;
      --libtensorflow) [[ $# -ge 2 ]] || usage; libdir=$(realpath "$2"); shift 2 ;;
      -h | --help) usage ;;
      *) echo "unknown argument: $1" >&2; usage ;;
    esac
  done
  [[ -z $wheel || -z $libdir ]] || { echo "--wheel and --libtensorflow exclude each other" >&2; exit 2; }
  [[ -z $wheel || -f $wheel ]] || { echo "no such wheel: $wheel" >&2; exit 2; }
  [[ -z $libdir || -d $libdir/include/tensorflow/c ]] || { echo "no include/tensorflow/c in $libdir" >&2; exit 2; }
}

# tfjs-node must be the release of tfew's own @tensorflow/tfjs: its dist requires "@tensorflow/tfjs" and must get
# that copy (one tfjs-core, one kernel registry), so the versions have to agree
project_tfjs_version() {
  local pkg=$root/node_modules/@tensorflow/tfjs/package.json
  [[ -f $pkg ]] || fail "no node_modules/@tensorflow/tfjs in $root: run npm install first"
  node -p "require(process.argv[1]).version" "$pkg"
}

# "<TF version> <cache flavour>" from the source's names, known before any download or build so the cache can answer
# first; the flavour keeps a CUDA build and a CPU build of the same TF version apart (tensorflow-cpu: none)
source_key() {
  local name version dist
  if [[ -n $wheel ]]; then
    name=$(basename "$wheel")        # <dist>-<version>-<python>-<abi>-<platform>.whl
    dist=${name%%-*} version=${name#*-} version=${version%%-*}
  elif [[ -n $libdir ]]; then
    dist=libtensorflow version=$(libdir_version)
  else
    dist=${default_spec%%[=<>]*} version=${default_spec##*==}
    dist=${dist%%\[*} && dist=${dist//-/_}      # tensorflow[and-cuda] caches as "tensorflow"
  fi
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "cannot tell the TensorFlow version of the source" >&2; exit 2; }
  case $dist in tensorflow_cpu) echo "$version -" ;; *) echo "$version $dist" ;; esac
}

# libtensorflow tarballs name the library libtensorflow.so.X.Y.Z; an installed package has a dist-info beside it
libdir_version() {
  local real meta
  if [[ -e $libdir/lib/libtensorflow.so.2 ]]; then
    real=$(basename "$(readlink -f "$libdir/lib/libtensorflow.so.2")")
    echo "${real#libtensorflow.so.}"
    return
  fi
  for meta in "$libdir"/../tensorflow*-*.dist-info/METADATA; do
    [[ -f $meta ]] && { sed -n 's/^Version: //p' "$meta" | head -n 1; return; }
  done
  echo unknown
}

check_toolchain() {
  local tool
  for tool in c++ make python3 npm; do
    command -v "$tool" >/dev/null 2>&1 || skip "no $tool on PATH (node-gyp needs a C++ compiler, make and python3)"
  done
}

# node-gyp from npm itself (no download), else npx fetches one
node_gyp() {
  local bundled
  bundled=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
  if [[ -f $bundled ]]; then node "$bundled" "$@"; else npx --yes node-gyp@12 "$@"; fi
}

# node's own headers when installed beside it (distribution packages, the official tarball, the node image):
# otherwise node-gyp downloads them, which offline hosts cannot
node_dir_args() {
  local prefix
  prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [[ -f $prefix/include/node/node_api.h ]]; then echo "--nodedir=$prefix"; fi
}

fetch_wheel() {
  python3 -m pip --version >/dev/null 2>&1 || skip "python3 has no pip to download $default_spec (or give --wheel)"
  mkdir -p "$work/wheel"
  say "pip download $default_spec"
  PIP_RETRIES=${PIP_RETRIES:-1} run python3 -m pip download "$default_spec" --no-deps --only-binary=:all: \
    -d "$work/wheel" || skip "pip could not download $default_spec (see $log)"
  wheel=$(first_file "$work"/wheel/*.whl)
}

# only the C API headers and the two libraries: the rest of the wheel (Python TF) is not needed
unpack_wheel() {
  say "unpacking $(basename "$wheel")"
  run python3 - "$wheel" "$work/src" <<'PY' || fail "cannot unpack $wheel"
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.startswith("tensorflow/include/")
               or m in ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2")]
    if not any(m.endswith("libtensorflow_cc.so.2") for m in members):
        sys.exit(f"{wheel}: no tensorflow/libtensorflow_cc.so.2 (a wheel without the C API)")
    z.extractall(dest, members)
PY
  libdir=$work/src/tensorflow
}

first_file() { local f; for f in "$@"; do if [[ -e $f ]]; then echo "$f"; return; fi; done; }

# deps/include + deps/lib as tfjs-node's binding.gyp expects; the pip wheel's C API lives in libtensorflow_cc.so.2,
# so it also answers to the names the binding links (-ltensorflow) and loads (libtensorflow.so.2)
assemble_deps() {
  local pkg=$1 cc fw
  mkdir -p "$pkg/deps/lib"
  cp -a "$libdir/include" "$pkg/deps/include"
  cc=$(first_file "$libdir"/lib/libtensorflow.so.2 "$libdir"/libtensorflow_cc.so.2)
  fw=$(first_file "$libdir"/lib/libtensorflow_framework.so.2 "$libdir"/libtensorflow_framework.so.2)
  [[ -n $cc && -n $fw ]] || fail "no libtensorflow(_cc).so.2 + libtensorflow_framework.so.2 in $libdir"
  cp -L "$cc" "$pkg/deps/lib/libtensorflow_cc.so.2"
  cp -L "$fw" "$pkg/deps/lib/libtensorflow_framework.so.2"
  ln -sf libtensorflow_cc.so.2 "$pkg/deps/lib/libtensorflow.so.2"
  ln -sf libtensorflow_cc.so.2 "$pkg/deps/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$pkg/deps/lib/libtensorflow_framework.so"
}

fetch_tfjs_node() {
  local version=$1
  (cd "$work" && run npm pack --silent "@tensorflow/tfjs-node@$version") \
    || skip "npm could not fetch @tensorflow/tfjs-node@$version (see $log)"
  mkdir -p "$work/pkg"
  tar -xzf "$work/tensorflow-tfjs-node-$version.tgz" -C "$work/pkg"
}

# lib/napi-v8 is where node-pre-gyp's find() looks on Node >= 18 (the highest N-API in package.json's list);
# binding.gyp already links with rpath $ORIGIN/../../deps/lib, so no LD_LIBRARY_PATH is needed
build_binding() {
  local pkg=$1 nodedir
  nodedir=$(node_dir_args)
  say "node-gyp rebuild in $pkg ${nodedir:-(node headers: download)}"
  (cd "$pkg" && run node_gyp rebuild ${nodedir:+"$nodedir"} --napi_build_version=8 \
    --module_name=tfjs_binding --module_path=lib/napi-v8) || fail "node-gyp could not build tfjs_binding"
  mkdir -p "$pkg/lib/napi-v8"
  cp "$pkg/build/Release/tfjs_binding.node" "$pkg/lib/napi-v8/"
  # headers and objects are build inputs: 290 MB the installed package does not need
  rm -rf "$pkg/build" "$pkg/deps/include"
}

# its runtime dependencies nested in its own node_modules, so they never displace tfew's packages; @tensorflow/tfjs
# is left out on purpose: require("@tensorflow/tfjs") must climb to tfew's copy
install_runtime_deps() {
  local pkg=$1 specs
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  specs=$(node -e 'const d = require(process.argv[1]).dependencies;
    const keep = Object.entries(d).filter(([n]) => !n.startsWith("@tensorflow/"));
    console.log(keep.map(([n, v]) => `${n}@${v}`).join(" "))' \
    "$pkg/package.json")
  mkdir -p "$work/deps" && echo '{"name":"tfjs-node-runtime","private":true}' >"$work/deps/package.json"
  # shellcheck disable=SC2086 # specs is a word list by construction
  (cd "$work/deps" && run npm install --no-save --no-package-lock --omit=dev --ignore-scripts --no-audit --no-fund \
    $specs) || skip "npm could not install tfjs-node's runtime dependencies (see $log)"
  mv "$work/deps/node_modules" "$pkg/node_modules"
  # the install script would download Google's libtensorflow over ours on any npm rebuild
  node -e 'const fs = require("fs"); const f = process.argv[1]; const p = JSON.parse(fs.readFileSync(f, "utf8"));
    delete p.scripts; delete p.devDependencies; fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n");' \
    "$pkg/package.json"
}

# the binding must find libtensorflow through its own rpath, with no LD_LIBRARY_PATH
check_ldd() {
  local binding=$1/lib/napi-v8/tfjs_binding.node out
  out=$(env -u LD_LIBRARY_PATH ldd "$binding") || fail "ldd $binding failed"
  say "$out"
  if grep -q "not found" <<<"$out"; then fail "unresolved: $(grep 'not found' <<<"$out" | tr -s '\n\t ' ' ')"; fi
  # the pip library's SONAME is libtensorflow_cc.so.2, so that is the name the binding records
  grep -q "libtensorflow_cc.so.2 => .*/deps/lib/" <<<"$out" || fail "libtensorflow_cc.so.2 does not come from deps/lib"
}

# loads tfew's @tensorflow/tfjs, then tfjs-node: the tensorflow backend must land in THAT registry (one
# tfjs-core) and report its TensorFlow version; prints it
check_install() {
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  (cd "$root" && env -u LD_LIBRARY_PATH node --input-type=module -e '
    import { createRequire } from "node:module";
    const require = createRequire(process.cwd() + "/package.json");
    const tf = await import("@tensorflow/tfjs");
    const own = require.resolve("@tensorflow/tfjs-core");
    const nodeRequire = createRequire(require.resolve("@tensorflow/tfjs-node"));
    const seen = createRequire(nodeRequire.resolve("@tensorflow/tfjs")).resolve("@tensorflow/tfjs-core");
    if (seen !== own) throw new Error(`two tfjs-core: ${own} and ${seen}`);
    await import("@tensorflow/tfjs-node");
    if (tf.findBackendFactory("tensorflow") === null) throw new Error("no tensorflow backend in tfew tfjs registry");
    await tf.setBackend("tensorflow");
    const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync().join(",");
    if (sum !== "4,6") throw new Error(`1+3, 2+4 gave ${sum}`);
    console.log(tf.backend().binding.TF_Version);')
}

build_into_cache() {
  local dest=$1 tfjs_version=$2 tmp=$1.tmp.$$ started=$SECONDS
  rm -rf "$tmp" && mkdir -p "$(dirname "$dest")"
  [[ -n $wheel || -n $libdir ]] || fetch_wheel
  [[ -z $wheel ]] || unpack_wheel
  fetch_tfjs_node "$tfjs_version"
  assemble_deps "$work/pkg/package"
  build_binding "$work/pkg/package"
  install_runtime_deps "$work/pkg/package"
  check_ldd "$work/pkg/package"
  rm -rf "$dest" && mv "$work/pkg/package" "$tmp" && mv "$tmp" "$dest"
  say "built in $((SECONDS - started)) s"
}

# hard links when the cache shares the file system (instant, and npm deleting the copy leaves the cache whole),
# else a copy
install_from_cache() {
  local cached=$1 target=$root/node_modules/@tensorflow/tfjs-node
  rm -rf "$target"
  cp -al "$cached" "$target" 2>/dev/null || { rm -rf "$target"; cp -a "$cached" "$target"; }
  rm -f "$target/.stamp"
}

main() {
  parse_args "$@"
  local tfjs_version key tf_version flavour dest stamp reported built=0 from="from the cache" started=$SECONDS
  tfjs_version=$(project_tfjs_version)
  key=$(source_key)
  tf_version=${key% *} flavour=${key#* }
  dest=$cache_root/tfjs-node-$tf_version
  [[ $flavour == - ]] || dest=$dest-$flavour
  stamp="tfjs-node $tfjs_version"
  if [[ ! -f $dest/.stamp ]] || ! grep -qx "$stamp" "$dest/.stamp"; then
    check_toolchain
    build_into_cache "$dest" "$tfjs_version"
    built=1 from="built in $((SECONDS - started)) s"
  fi
  install_from_cache "$dest"
  reported=$(check_install 2>>"$log") || fail "@tensorflow/tfjs-node does not load in $root"
  [[ $reported == "$tf_version"* ]] || fail "binding reports TensorFlow $reported, the source said $tf_version"
  # written last: a cache folder without it is an interrupted build and is rebuilt
  if [[ $built == 1 ]]; then printf '%s\nTF_Version %s\n' "$stamp" "$reported" >"$dest/.stamp"; fi
  echo "tensorflow: @tensorflow/tfjs-node $tfjs_version over TensorFlow $reported C API" \
    "($from; cache $dest; installed in $((SECONDS - started)) s)"
}

main "$@"
