# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing of /proc maps and cgroups, kernel comparison, service attribution."""

from __future__ import annotations

import os

from ansible_collections.fuel.lifecycle.plugins.module_utils import _needs_restart as nr

MAPS = """\
55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1311  /usr/bin/python3.11
7f1c2c000000-7f1c2c021000 rw-p 00000000 00:00 0
7f1c2d000000-7f1c2d001000 r--s 00000000 00:2e 4242  /usr/share/fuel-lab/libfuel-common.version (deleted)
7f1c2e000000-7f1c2e100000 r-xp 00000000 fe:01 2222  /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2f000000-7f1c2f001000 rw-s 00000000 00:05 77    /dev/zero (deleted)
7f1c30000000-7f1c30001000 rw-s 00000000 00:05 78    /memfd:pulse (deleted)
7ffd5a000000-7ffd5a021000 rw-p 00000000 00:00 0     [stack]
7f1c31000000-7f1c31001000 r--p 00000000 fe:01 3333  /usr/lib/my lib/with space.so
"""


class FakeStat:
    def __init__(self, ino):
        self.st_ino = ino


def test_parse_maps_keeps_file_mappings_only():
    found = nr.parse_maps(MAPS)
    assert ("/usr/share/fuel-lab/libfuel-common.version", 4242, True) in found
    assert ("/usr/lib/my lib/with space.so", 3333, False) in found
    assert all(path.startswith("/") for path, _ino, _deleted in found)
    assert len(found) == 6


def test_stale_files_deleted_replaced_and_ignored():
    inodes = {"/usr/bin/python3.11": 1311, "/usr/lib/x86_64-linux-gnu/libssl.so.3": 9999,
              "/usr/lib/my lib/with space.so": 3333}

    def stat(path):
        if path not in inodes:
            raise FileNotFoundError(path)
        return FakeStat(inodes[path])

    stale = nr.stale_files(nr.parse_maps(MAPS), "/usr/sbin/daemon (deleted)", stat=stat)
    assert stale == ["/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/sbin/daemon",
                     "/usr/share/fuel-lab/libfuel-common.version"]


def test_unit_from_cgroup_v2_and_v1():
    assert nr.unit_from_cgroup("0::/system.slice/nova-compute.service\n") == "nova-compute.service"
    assert nr.unit_from_cgroup("0::/system.slice/foo.service/sub\n") == "foo.service"
    assert nr.unit_from_cgroup("0::/user.slice/user-0.slice/session-3.scope\n") is None
    v1 = "12:cpu,cpuacct:/\n1:name=systemd:/system.slice/apache2.service\n"
    assert nr.unit_from_cgroup(v1) == "apache2.service"


def test_tool_output_parsers():
    out = "NEEDRESTART-VER: 3.6\nNEEDRESTART-SVC: ssh.service\nNEEDRESTART-SVC: cron.service\nNEEDRESTART-KSTA: 1\n"
    assert nr.parse_needrestart(out) == ["cron.service", "ssh.service"]
    assert nr.parse_needs_restarting("httpd.service\n\nsshd.service\n") == ["httpd.service", "sshd.service"]


def test_kernel_comparison():
    assert nr.reboot_needed("6.1.0-13-amd64", ["6.1.0-9-amd64", "6.1.0-13-amd64"]) == (False, "6.1.0-13-amd64")
    assert nr.reboot_needed("6.1.0-9-amd64", ["6.1.0-9-amd64", "6.1.0-13-amd64"]) == (True, "6.1.0-13-amd64")
    assert nr.reboot_needed("4.18.0-477.el8.x86_64", ["4.18.0-513.5.1.el8_9.x86_64"])[0] is True
    assert nr.reboot_needed("6.1.0-9-amd64", []) == (False, None)


class FakeReader:
    def __init__(self, table):
        self.table = table

    def pids(self):
        return iter(self.table)

    def process(self, pid):
        return self.table[pid]


def proc(pid, ppid, maps, cgroup=""):
    return {"pid": pid, "ppid": ppid, "comm": "p%d" % pid, "exe": "/usr/bin/python3.11", "maps": maps,
            "cgroup": cgroup}


def test_scan_attributes_children_to_the_init_script(tmp_path):
    (tmp_path / "etc/init.d").mkdir(parents=True)
    (tmp_path / "etc/init.d/libsvc").write_text("#!/bin/sh\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run/libsvc.pid").write_text("10\n")
    (tmp_path / "run/orphan.pid").write_text("30\n")
    stale = "7f-80 r--s 0 00:2e 4242 /usr/share/lib.data (deleted)\n"
    reader = FakeReader({10: proc(10, 1, stale), 11: proc(11, 10, stale), 20: proc(20, 1, "7f-80 r--p 0 0 0 [heap]\n"),
                         30: proc(30, 1, stale)})
    processes, services, systemd = nr.scan(reader, root=str(tmp_path), systemd=False)
    assert systemd is False
    assert services == [{"name": "libsvc", "manager": "sysv", "pids": [10, 11], "files": ["/usr/share/lib.data"]}]
    assert [(p["pid"], p["service"]) for p in processes] == [(10, "libsvc"), (11, "libsvc"), (30, None)]


def test_scan_uses_systemd_units_and_the_service_map(tmp_path):
    stale = "7f-80 r--s 0 00:2e 4242 /usr/share/lib.data (deleted)\n"
    pidfile = tmp_path / "custom.pid"
    pidfile.write_text("7")
    reader = FakeReader({5: proc(5, 1, stale, "0::/system.slice/api.service\n"), 7: proc(7, 1, stale, "0::/init.scope\n")})
    _processes, services, _systemd = nr.scan(reader, {"custom": {"pidfile": str(pidfile)}}, root=str(tmp_path),
                                             systemd=True)
    assert [(s["name"], s["manager"]) for s in services] == [("api.service", "systemd"), ("custom", "map")]


def test_proc_reader_sees_this_process(tmp_path):
    reader = nr.ProcReader()
    info = reader.process(os.getppid())
    assert info is not None and info["maps"]
    assert os.getpid() not in set(reader.pids())
