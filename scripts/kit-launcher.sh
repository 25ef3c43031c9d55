#!/bin/sh
# tfew kit launcher (copied to tfew-kit/bin/tfew by scripts/kit.js): runs the kit's own Node binary on the
# bundled app, so the host needs no Node, npm or internet. Adds the kit's Vulkan loader when the host has none.
set -e
self=$0
case $self in */*) ;; *) self=./$self ;; esac
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in /*) self=$link ;; *) self=${self%/*}/$link ;; esac
done
kit=$(cd "${self%/*}/.." && pwd)
if [ ! -x "$kit/bin/node" ] || [ ! -f "$kit/dist/cli/main.js" ]; then
  echo "tfew: $kit is not a complete kit (bin/node or dist/cli/main.js missing); unpack tfew-kit-linux-x64.tar.xz again" >&2
  exit 2
fi
# WebGPU (Dawn) dlopens libvulkan.so.1: the host's when present (ldconfig cache or the usual folders), else the kit's.
has_vulkan() {
  for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /usr/lib; do
    [ -e "$dir/libvulkan.so.1" ] && return 0
  done
  { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null || true; } | grep -q 'libvulkan\.so\.1 '
}
if [ -e "$kit/vulkan/lib/libvulkan.so.1" ] && [ "${TFEW_KIT_VULKAN:-auto}" != off ] && ! has_vulkan; then
  LD_LIBRARY_PATH="$kit/vulkan/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
fi
exec "$kit/bin/node" "$kit/dist/cli/main.js" "$@"
