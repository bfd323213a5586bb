"""Shared helpers of the lab: paths, commands, cache keys, process clean-up."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(LAB_DIR)
CACHE_DIR = os.environ.get("FUEL_LAB_CACHE", os.path.expanduser("~/.cache/fuel-lifecycle-lab"))
STATE_DIR = os.environ.get("FUEL_LAB_STATE", os.path.join(REPO_DIR, ".lab", "default"))
DEBIAN_MIRROR = os.environ.get("FUEL_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
C_ENV = dict(os.environ, LANG="C", LC_ALL="C", LANGUAGE="C", DEBIAN_FRONTEND="noninteractive")


def log(msg):
    print("lab: %s" % msg, file=sys.stderr, flush=True)


def run(argv, check=True, capture=False, env=None, cwd=None, input_text=None):
    """Run an argv list (never a shell string); raise with its output on failure."""
    proc = subprocess.run(
        argv, env=env or C_ENV, cwd=cwd, input=input_text, text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None, check=False,
    )
    if check and proc.returncode != 0:
        detail = (proc.stderr or "") if capture else ""
        raise RuntimeError("command failed (rc=%d): %s\n%s" % (proc.returncode, " ".join(argv), detail))
    return proc


def chroot(root, argv, **kwargs):
    return run(["chroot", root] + list(argv), **kwargs)


def digest(*parts):
    """Cache key from strings, bytes and file paths (content of files and folders)."""
    sha = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            sha.update(part)
        elif isinstance(part, str) and os.path.isdir(part):
            for base, dirs, files in sorted(os.walk(part)):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".pyc"):
                        continue
                    path = os.path.join(base, name)
                    sha.update(os.path.relpath(path, part).encode())
                    with open(path, "rb") as handle:
                        sha.update(handle.read())
        elif isinstance(part, str) and os.path.isfile(part):
            with open(part, "rb") as handle:
                sha.update(handle.read())
        else:
            sha.update(json.dumps(part, sort_keys=True).encode())
    return sha.hexdigest()[:16]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def pid_alive(pid):
    """True while ``pid`` runs; a zombie nobody reaps counts as gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_rooted_in(root):
    """PIDs whose root directory lies inside ``root`` (chrooted sshd and its children)."""
    root = os.path.realpath(root)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            proc_root = os.readlink("/proc/%s/root" % entry)
        except OSError:
            continue
        if proc_root == root or proc_root.startswith(root + "/"):
            found.append(int(entry))
    return found


def kill_rooted_in(root, timeout=5.0):
    """Stop every process living inside ``root``: TERM first, KILL what stays."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = processes_rooted_in(root)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.05)


def mounts_under(path):
    """Mount points at or below ``path``, deepest first."""
    path = os.path.realpath(path)
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(path + "/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def unmount_all(path):
    for point in mounts_under(path):
        if run(["umount", point], check=False, capture=True).returncode != 0:
            run(["umount", "-l", point], check=False, capture=True)


def write_file(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def load_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def save_json(path, data):
    write_file(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
