"""Lab nodes: one overlay root per node, a real sshd on 127.0.0.1:<port>.

Two flavours share the debootstrapped base:
* ``apt``: a deployed node, vendor packages installed with apt from the
  fixture repositories, at the first maintenance update;
* ``rpm``: the same base plus dnf and rpm, vendor packages installed with dnf,
  so its RPM database holds what the fixture repositories published.
A third, ``legacy``, is an apt node on a Debian 11 base whose only Python is
2.7 (no python3): the oldest node Python the collection supports, driven by
ansible-core 2.16 from an inventory of its own (``legacy-inventory.yml``).
"""

import json
import os
import shutil
import subprocess
import sys
import time

from lab import fixtures, roots
from lab.common import (C_ENV, LAB_DIR, chroot, kill_rooted_in, log, pid_alive, run, unmount_all, wait_port,
                        write_file)

REAPER = os.path.join(LAB_DIR, "reaper.py")
RPM_TOOLS = ["dnf", "rpm", "python3-dnf", "python3-rpm", "createrepo-c"]


class MirrorServer:
    """The fixture web root served over HTTP on loopback."""

    def __init__(self, www, port, log_path):
        self.www, self.port, self.log_path = www, port, log_path
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", self.www, str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("mirror did not listen on port %d" % self.port)
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _install_key(root, www):
    os.makedirs(os.path.join(root, "etc/apt/keyrings"), exist_ok=True)
    shutil.copy(os.path.join(www, "keys", fixtures.KEY_NAME + ".gpg"),
                os.path.join(root, "etc/apt/keyrings", fixtures.KEY_NAME + ".gpg"))


def _record_mu(root, definitions):
    record = fixtures.mu_record(definitions, definitions["node_install"]["mu_record"])
    write_file(os.path.join(root, "etc/fuel/mu-version.json"), json.dumps(record, indent=2) + "\n")


def _with_mirror(www, populate):
    """Run ``populate(root, url)`` while a throwaway mirror serves the fixtures."""
    from lab.common import free_port  # pylint: disable=import-outside-toplevel
    server = MirrorServer(www, free_port(), os.path.join(os.path.dirname(www), "build-mirror.log"))

    def wrapped(root):
        server.start()
        try:
            populate(root, server.url)
        finally:
            server.stop()
    return wrapped


def apt_layers(www, legacy=False):
    """Layers (topmost first) of a deployed apt node (on Debian 11, Python 2.7 only, if ``legacy``)."""
    base = roots.legacy_root() if legacy else roots.base_root()
    definitions = fixtures.load_definitions()

    def populate(root, url):
        os.unlink(os.path.join(root, "etc/apt/sources.list"))
        _install_key(root, www)
        fixtures.write_lab_sources(root, url, "apt", definitions)
        chroot(root, ["apt-get", "update", "-q"], capture=True)
        chroot(root, ["apt-get", "install", "-y", "-q"] + definitions["node_install"]["packages"], capture=True)
        chroot(root, ["apt-get", "clean"])
        _record_mu(root, definitions)

    name = "legacy-node" if legacy else "apt-node"
    node = roots.build_layer(name, [base], [www, fixtures.DEFINITIONS], _with_mirror(www, populate))
    return [node, base]


def all_layers(www, legacy=True):
    """Layers of every node flavour (the legacy one only when the topology has it)."""
    layers = {"apt": apt_layers(www), "rpm": rpm_layers(www)}
    if legacy:
        layers["legacy"] = apt_layers(www, legacy=True)
    return layers


def rpm_layers(www):
    """Layers (topmost first) of the RPM host: dnf + rpm, vendor packages from the fixtures."""
    base = roots.base_root()
    definitions = fixtures.load_definitions()
    tools = roots.build_layer("rpm-tools", [base], [RPM_TOOLS], lambda root: roots.apt_install(root, RPM_TOOLS))

    def populate(root, url):
        os.unlink(os.path.join(root, "etc/apt/sources.list"))
        key = "etc/pki/rpm-gpg/RPM-GPG-KEY-" + fixtures.KEY_NAME
        os.makedirs(os.path.join(root, os.path.dirname(key)), exist_ok=True)
        shutil.copy(os.path.join(www, "keys", os.path.basename(key)), os.path.join(root, key))
        chroot(root, ["rpm", "--import", "/" + key], capture=True)
        provides = os.path.join(root, "tmp/host-provides.rpm")
        shutil.copy(os.path.join(www, "host", "fuel-lab-host-provides-1.0-1.noarch.rpm"), provides)
        chroot(root, ["rpm", "-i", "/tmp/host-provides.rpm"], capture=True)
        os.unlink(provides)
        fixtures.write_lab_sources(root, url, "rpm", definitions)
        chroot(root, ["dnf", "install", "-y", "-q"] + definitions["node_install"]["packages"], capture=True)
        chroot(root, ["dnf", "clean", "all"], capture=True)
        _record_mu(root, definitions)

    node = roots.build_layer("rpm-node", [base, tools], [www, fixtures.DEFINITIONS], _with_mirror(www, populate))
    return [node, tools, base]


def node_paths(state_dir, name):
    top = os.path.join(state_dir, "nodes", name)
    return {"top": top, "root": os.path.join(top, "root"), "upper": os.path.join(top, "upper"),
            "work": os.path.join(top, "work")}


def sshd_pid(root):
    try:
        with open(os.path.join(root, "run/sshd.pid"), encoding="ascii") as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def start_node(state_dir, node, layers, mirror_url, public_key):
    """Mount the node's overlay and start its sshd; harmless when already running."""
    paths = node_paths(state_dir, node["name"])
    root = paths["root"]
    if not os.path.ismount(root):
        roots.mount_overlay(layers, paths["upper"], paths["work"], root)
        roots.bind_system(root)
    write_file(os.path.join(root, "root/.ssh/authorized_keys"), public_key, 0o600)
    os.chmod(os.path.join(root, "root/.ssh"), 0o700)
    write_file(os.path.join(root, "etc/fuel-lab/node.json"), json.dumps(node, indent=2) + "\n")
    fixtures.write_lab_sources(root, mirror_url, node["flavor"])
    if sshd_pid(root) is None:
        os.makedirs(os.path.join(root, "run/sshd"), exist_ok=True)
        # Under lab/reaper.py, the node's own init: its daemons' zombies go at once, as on a node.
        run([sys.executable, REAPER, "chroot", root, "/usr/sbin/sshd", "-o", "ListenAddress=127.0.0.1",
             "-p", str(node["port"]), "-o", "PidFile=/run/sshd.pid", "-o", "PermitRootLogin=prohibit-password",
             "-o", "UseDNS=no", "-o", "MaxSessions=50", "-o", "MaxStartups=100"],
            capture=True, env=dict(C_ENV, PATH="/usr/sbin:/usr/bin:/sbin:/bin"))
        if not wait_port(node["port"]):
            raise RuntimeError("sshd of %s did not listen on %d" % (node["name"], node["port"]))
    return root


def stop_node(state_dir, name):
    """Stop every process of the node, unmount it and drop its overlay."""
    paths = node_paths(state_dir, name)
    if os.path.isdir(paths["root"]):
        kill_rooted_in(paths["root"])
    for _attempt in range(3):
        unmount_all(paths["top"])
        if not os.path.ismount(paths["root"]):
            break
        time.sleep(0.5)
    if os.path.ismount(paths["root"]):
        raise RuntimeError("%s is still mounted" % paths["root"])
    shutil.rmtree(paths["top"], ignore_errors=True)
    log("node %s removed" % name)


def key_pair(state_dir):
    key = os.path.join(state_dir, "ssh", "id_ed25519")
    if not os.path.exists(key):
        os.makedirs(os.path.dirname(key), mode=0o700, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fuel-lab", "-f", key], capture=True)
    with open(key + ".pub", encoding="ascii") as handle:
        return key, handle.read()
