#!/usr/bin/env bash
# Fallback controller interpreter for machines without Python 3.12+ (Debian 12
# has 3.11; ansible-core 2.21 needs 3.12+): a cached, debootstrapped Debian 13
# (trixie) root with its Python 3.13, run in place through the root's own
# dynamic loader and libraries (the host's glibc is older than the one trixie's
# Python is linked against). Prints the path of a `python3.13` wrapper that
# behaves like an interpreter on the host: `WRAPPER -m venv --without-pip DIR`
# makes a venv whose bin/python* lead to the wrapper (setup.sh then installs pip
# from the root's own wheel: the root's ensurepip would look for the host's). The controller then drives the lab nodes
# over the same loopback SSH as any other. Built once under the lab cache.
set -euo pipefail
cache=${FUEL_LAB_CACHE:-$HOME/.cache/fuel-lifecycle-lab}
mirror=${FUEL_LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-venv,ca-certificates
key=$(printf '%s %s %s' trixie "$packages" "$mirror" | sha256sum | cut -c1-16)
root=$cache/roots/controller-trixie-$key
mkdir -p "$cache/locks" "$cache/roots"
exec 9>"$cache/locks/controller-trixie-$key.lock"
flock 9
if [ ! -f "$root/.complete" ]; then
  echo "controller-python: debootstrap trixie into $root (first run only)" >&2
  rm -rf "$root.tmp"
  debootstrap --variant=minbase --include="$packages" trixie "$root.tmp" "$mirror" >&2
  chroot "$root.tmp" apt-get clean
  # The wrapper: trixie's loader and libraries, argv[0] kept, so that Python
  # finds its prefix (or the venv's pyvenv.cfg) from the path it was called by.
  mkdir -p "$root.tmp/usr/fuel-bin"
  # (In usr/fuel-bin: Python looks for its lib/python3.13 from the parent up.)
  cat > "$root.tmp/usr/fuel-bin/python3.13" <<WRAP
#!/bin/sh
exec "$root/lib64/ld-linux-x86-64.so.2" --library-path "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu" \\
  --argv0 "\$0" "$root/usr/bin/python3.13" "\$@"
WRAP
  chmod 0755 "$root.tmp/usr/fuel-bin/python3.13"
  touch "$root.tmp/.complete"
  rm -rf "$root" && mv "$root.tmp" "$root"
fi
echo "$root/usr/fuel-bin/python3.13"
