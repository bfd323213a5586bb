"""Benchmark MU fixture: package definitions generated from lab/fixtures/mu_bench.yml.

``extend(definitions)`` adds the benchmark repositories and packages to the
fixture definitions (lab/fixtures/packages.yml); ``names()`` lists the
packages and ``services()`` the daemons, for the benchmark's setup.
Deterministic: the same YAML gives the same packages, byte for byte.
"""

import base64
import hashlib
import os

import yaml

from lab.common import LAB_DIR

SOURCE = os.path.join(LAB_DIR, "fixtures", "mu_bench.yml")
SOURCES = [SOURCE, os.path.abspath(__file__)]
PREFIX = "fuel-bench-"


def load(path=SOURCE):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def payload(name, version, size):
    """``size`` bytes of incompressible base64 text, different for every build."""
    chunks, counter, total = [], 0, 0
    raw_size = size * 3 // 4
    while total < raw_size:
        block = hashlib.sha512(("%s %s %d" % (name, version, counter)).encode()).digest()
        chunks.append(block)
        total += len(block)
        counter += 1
    text = base64.b64encode(b"".join(chunks)[:raw_size]).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n"


def _daemon(name):
    return ("#!/usr/bin/python3\n# Benchmark daemon: keeps its package's data file mapped.\n"
            "import mmap, time\nwith open('/usr/share/%s/data.txt', 'rb') as data:\n"
            "    mapped = mmap.mmap(data.fileno(), 0, prot=mmap.PROT_READ)\n"
            "while True:\n    time.sleep(3600)\n" % name)


def _init_script(name):
    return ("#!/bin/sh\n# Init script of the benchmark daemon %s.\nNAME=%s\nPIDFILE=/run/$NAME.pid\n"
            "case \"$1\" in\n"
            "  start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE "
            "--startas /usr/sbin/$NAME ;;\n"
            "  stop) start-stop-daemon --stop --quiet --oknodo --retry 5 --remove-pidfile --pidfile $PIDFILE ;;\n"
            "  restart) \"$0\" stop && \"$0\" start ;;\n"
            "  status) start-stop-daemon --status --pidfile $PIDFILE ;;\n"
            "  *) echo \"usage: $0 start|stop|restart|status\" >&2; exit 3 ;;\nesac\n" % (name, name))


def packages(spec=None):
    """Package definitions in the format of lab/fixtures/packages.yml (deb only)."""
    spec = spec or load()
    low, high = spec["payload_kib"]
    count = spec["packages"]
    repos = list(spec["repos"])
    result = []
    for index in range(count):
        name = "%s%02d" % (PREFIX, index)
        size = (low + (high - low) * ((index * 37) % count) // max(count - 1, 1)) * 1024
        package = {"name": name, "summary": "Benchmark vendor package %d" % index, "formats": ["deb"],
                   "builds": []}
        if index and index % spec["depends_every"] == 0:
            package["depends"] = ["%s%02d" % (PREFIX, index - 1)]
        if index % spec["scripts_every"] == 1:
            package["scripts"] = {
                "preinst": "mkdir -p /var/lib/fuel-bench",
                "postinst": "echo \"$1 $2\" > /var/lib/fuel-bench/%s.configured" % name,
                "prerm": "true"}
        service = index % spec["service_every"] == 5
        for number, version in enumerate(spec["versions"]):
            files = {"/usr/share/%s/data.txt" % name: payload(name, version, size)}
            if service:
                files["/usr/sbin/" + name] = _daemon(name)
                files["/etc/init.d/" + name] = _init_script(name)
            package["builds"].append({"version": version, "repos": [repos[min(number, len(repos) - 1)]],
                                      "files": files})
        result.append(package)
    return result


def names(spec=None):
    spec = spec or load()
    return ["%s%02d" % (PREFIX, index) for index in range(spec["packages"])]


def services(spec=None):
    spec = spec or load()
    return ["%s%02d" % (PREFIX, index) for index in range(spec["packages"]) if index % spec["service_every"] == 5]


def extend(definitions, spec=None):
    """Add the benchmark repositories and packages to ``definitions`` (in place); returns it."""
    spec = spec or load()
    definitions["repos"].update(spec["repos"])
    definitions["packages"] = list(definitions["packages"]) + packages(spec)
    return definitions
