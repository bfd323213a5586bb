"""Benchmark master update: generated RPM packages, the 1.0 builds installed, the 1.1 builds offered.

``build(count)`` builds ``count`` packages (both versions) with the lab's RPM
builder, once per definition (cached under the lab cache), and returns the
directory of the 1.0 builds and a repository (createrepo_c) of the 1.1 builds.
Like a real update of a master: sizes spread between the bounds
(incompressible payload, tens of MB in all), every 4th package with
pre/post/preun scripts, every 3rd depending on the one before it.
Deterministic: the same arguments give the same packages.
"""

import os
import shutil

from lab import fixtures
from lab.common import CACHE_DIR, digest, log, run
from lab.mu_bench import payload
from lab.roots import cache_lock

PREFIX = "fuel-mbench-"
VERSIONS = ("1.0-1", "1.1-1")


def definitions(count, low_kib=40, high_kib=400):
    """The packages' build definitions (lab.fixtures.build_rpm format), old build first."""
    result = []
    for index in range(count):
        name = "%s%03d" % (PREFIX, index)
        size = (low_kib + (high_kib - low_kib) * ((index * 37) % count) // max(count - 1, 1)) * 1024
        for version in VERSIONS:
            build = {"name": name, "version": version, "summary": "Benchmark master package %d" % index,
                     "files": {"/usr/share/%s/data.txt" % name: payload(name, version, size)}}
            if index and index % 3 == 0:
                build["depends"] = ["%s%03d" % (PREFIX, index - 1)]
            if index % 4 == 1:
                build["scripts"] = {"preinst": "mkdir -p /var/lib/fuel-mbench",
                                    "postinst": "echo \"$1\" > /var/lib/fuel-mbench/%s.configured" % name,
                                    "prerm": "true"}
            result.append(build)
    return result


def build(count, low_kib=40, high_kib=400):
    """(installed_dir, repo_dir): the 1.0 RPMs, and a repository of the 1.1 RPMs."""
    key = digest(repr((count, low_kib, high_kib)), os.path.abspath(__file__), fixtures.__file__)[:16]
    top = os.path.join(CACHE_DIR, "master-bench-" + key)
    installed, repo = os.path.join(top, "installed"), os.path.join(top, "repo")
    with cache_lock("master-bench-" + key):
        if os.path.isdir(os.path.join(repo, "repodata")):
            return installed, repo
        log("building %d benchmark master packages (once)" % count)
        shutil.rmtree(top, ignore_errors=True)
        work = os.path.join(top, "work")
        for definition in definitions(count, low_kib, high_kib):
            out = installed if definition["version"] == VERSIONS[0] else repo
            os.makedirs(out, exist_ok=True)
            fixtures.build_rpm(definition, work, out)
        shutil.rmtree(work)
        run(["createrepo_c", "--quiet", repo], capture=True)
    return installed, repo
