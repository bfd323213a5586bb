"""Cached root file systems: a debootstrapped base and overlay layers on top of it.

A layer is the upper directory of an overlay mounted over its parents while
packages were installed in a chroot; stacking layers as overlay lower
directories gives every node a complete root for the price of one mount.
"""

import fcntl
import os
import shutil
from contextlib import contextmanager

from lab.common import CACHE_DIR, DEBIAN_MIRROR, chroot, digest, log, run, unmount_all, write_file, kill_rooted_in

SUITE = "bookworm"
BASE_PACKAGES = [
    "python3", "python3-apt", "openssh-server", "procps", "ca-certificates",
    "init-system-helpers", "gpgv",
]
# The legacy node: Debian 11, whose only Python is 2.7 (no python3 at all), as
# on the oldest hosts the collection supports; driven by ansible-core 2.16.
LEGACY_SUITE = "bullseye"
LEGACY_PACKAGES = [
    "python2.7", "openssh-server", "procps", "ca-certificates", "init-system-helpers", "gpgv",
]
# Never start daemons while packages are installed in a chroot.
POLICY_RC = "#!/bin/sh\nexit 101\n"


@contextmanager
def cache_lock(name):
    """Serialise builds of one cache entry between concurrent lab runs."""
    os.makedirs(os.path.join(CACHE_DIR, "locks"), exist_ok=True)
    with open(os.path.join(CACHE_DIR, "locks", name + ".lock"), "w", encoding="ascii") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def base_root(suite=SUITE, packages=None):
    """The debootstrapped base root of ``suite``, built once per package list."""
    packages = BASE_PACKAGES if packages is None else packages
    key = digest(suite, packages, DEBIAN_MIRROR)
    path = os.path.join(CACHE_DIR, "roots", "base-%s" % key)
    with cache_lock("base-" + key):
        if not os.path.isfile(os.path.join(path, ".complete")):
            _debootstrap(path, key, suite, packages)
    return path


def legacy_root():
    """The Debian 11 base of the legacy node (Python 2.7 only)."""
    return base_root(LEGACY_SUITE, LEGACY_PACKAGES)


def _debootstrap(path, key, suite, packages):
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log("debootstrap %s into %s (first run only)" % (suite, path))
    run(["debootstrap", "--variant=minbase", "--include=" + ",".join(packages),
         suite, tmp, DEBIAN_MIRROR], capture=True)
    write_file(os.path.join(tmp, "usr/sbin/policy-rc.d"), POLICY_RC, 0o755)
    os.makedirs(os.path.join(tmp, "run/sshd"), exist_ok=True)
    chroot(tmp, ["apt-get", "clean"])
    write_file(os.path.join(tmp, ".complete"), key + "\n")
    shutil.rmtree(path, ignore_errors=True)
    os.rename(tmp, path)


def mount_overlay(lowers, upper, work, target):
    """Mount an overlay; ``lowers`` is ordered from the topmost layer down."""
    for path in (upper, work, target):
        os.makedirs(path, exist_ok=True)
    options = "lowerdir=%s,upperdir=%s,workdir=%s" % (":".join(lowers), upper, work)
    run(["mount", "-t", "overlay", "overlay", "-o", options, target], capture=True)


def bind_system(root):
    """/proc, /dev and /dev/pts inside a root, as sshd and package scripts need them."""
    for src, dst, extra in (("proc", "proc", ["-t", "proc"]), ("/dev", "dev", ["--bind"]),
                            ("devpts", "dev/pts", ["-t", "devpts", "-o", "newinstance,ptmxmode=0666"])):
        target = os.path.join(root, dst)
        os.makedirs(target, exist_ok=True)
        run(["mount"] + extra + [src, target], capture=True)


def build_layer(name, parents, key_parts, populate):
    """Build (once) a layer over ``parents`` by running ``populate(root)`` in an overlay."""
    key = digest(name, parents, *key_parts)
    path = os.path.join(CACHE_DIR, "layers", "%s-%s" % (name, key))
    with cache_lock("layer-%s-%s" % (name, key)):
        if not os.path.isfile(os.path.join(path, ".complete-layer")):
            _build_layer(path, key, name, parents, populate)
    return path


def _build_layer(path, key, name, parents, populate):
    scratch = path + ".build"
    if os.path.isdir(scratch):
        kill_rooted_in(os.path.join(scratch, "root"))
        unmount_all(scratch)
        shutil.rmtree(scratch)
    root = os.path.join(scratch, "root")
    upper = os.path.join(scratch, "upper")
    log("building layer %s (first run only)" % name)
    mount_overlay(list(reversed(parents)), upper, os.path.join(scratch, "work"), root)
    try:
        bind_system(root)
        populate(root)
    finally:
        kill_rooted_in(root)
        unmount_all(scratch)
    write_file(os.path.join(upper, ".complete-layer"), key + "\n")
    shutil.rmtree(path, ignore_errors=True)
    os.rename(upper, path)
    shutil.rmtree(scratch, ignore_errors=True)


def apt_install(root, packages):
    chroot(root, ["apt-get", "update", "-q"], capture=True)
    chroot(root, ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + list(packages), capture=True)
    chroot(root, ["apt-get", "clean"])
