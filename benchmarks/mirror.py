# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time fuel-mirror (the mirror role's tool) against plain aptly / dnf reposync of the same repositories.

The repositories: the lab's fixture vendor and upstream repositories (APT and RPM), the upstream one
grown by N packages of 256 KiB each (default 40), served on loopback. Measured:

* full run: ``fuel-mirror update`` into an empty mirror (download, snapshot, publish signed, createrepo_c,
  verify every package, switch) vs ``aptly mirror create`` + ``aptly mirror update`` and
  ``dnf reposync`` of the same repositories into an empty directory (download only);
* incremental run: the same commands again with one new package upstream.

Not a test: prints figures. Usage: python benchmarks/mirror.py [N]   (scratch in build/bench-mirror)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, "tests", "integration")]

import mirrorlab  # noqa: E402  pylint: disable=wrong-import-position
from lab import fixtures  # noqa: E402  pylint: disable=wrong-import-position


def timed(argv, env=None, cwd=None):
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, cwd=cwd, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(argv[:3]), proc.stdout[-2000:] + proc.stderr[-2000:]))
    return time.monotonic() - started, proc.stdout


def grow(upstream, count):
    """count packages with a 256 KiB incompressible payload in the upstream APT and RPM repositories."""
    for index in range(count):
        name = "bulk-%03d" % index
        build = {"name": name, "version": "1.0-1", "summary": "bulk package",
                 "files": {"/usr/share/fuel-lab/%s.data" % name: os.urandom(196608).hex()[:262144]}}
        fixtures.build_deb(build, upstream.work, os.path.join(upstream.www, "deb", "upstream", "pool"))
        fixtures.build_rpm(build, upstream.work, os.path.join(upstream.www, "rpm", "upstream"))
    upstream.remove_version([])  # re-index and re-sign both repositories


class Plain:
    """aptly mirror create/update and dnf reposync alone, into their own directories."""

    def __init__(self, scratch, upstream):
        self.root = os.path.join(scratch, "plain")
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        self.upstream = upstream
        self.conf = os.path.join(self.root, "aptly.conf")
        with open(self.conf, "w", encoding="utf-8") as out:
            json.dump({"rootDir": os.path.join(self.root, "aptly"), "gpgProvider": "gpg",
                       "downloadConcurrency": 4}, out)
        self.dnf_root = os.path.join(self.root, "dnf-root")
        os.makedirs(self.dnf_root)
        subprocess.run(["rpm", "--root=" + self.dnf_root, "--import", upstream.rpm_key], check=True)
        with open(os.path.join(self.root, "dnf.conf"), "w", encoding="utf-8") as out:
            out.write("[main]\nreposdir=/nonexistent\ncachedir=%s\nplugins=1\n" % os.path.join(self.root, "cache"))
        self.created = False

    def run(self):
        total = 0.0
        url = self.upstream.server.url
        for name, (suite, section) in mirrorlab.APT_REPOS.items():
            if not self.created:
                total += timed(["aptly", "-config=" + self.conf, "mirror", "create", "-keyring=" + self.upstream.keyring,
                                "-architectures=amd64", name, "%s/deb/%s" % (url, name), suite, section])[0]
            total += timed(["aptly", "-config=" + self.conf, "mirror", "update", "-keyring=" + self.upstream.keyring,
                            name])[0]
        self.created = True
        for name in mirrorlab.RPM_REPOS:
            repoid = "plain-" + name
            total += timed(["dnf", "-q", "-y", "--config=" + os.path.join(self.root, "dnf.conf"),
                            "--installroot=" + self.dnf_root, "--releasever=plain",
                            "--repofrompath=%s,%s/rpm/%s/" % (repoid, url, name),
                            "--setopt=%s.gpgkey=file://%s" % (repoid, self.upstream.rpm_key),
                            "--setopt=%s.metadata_expire=0" % repoid,
                            "reposync", "--repoid=" + repoid, "--norepopath", "--gpgcheck",
                            "--download-path=" + os.path.join(self.root, "rpm", name)])[0]
        return total


def main(argv):
    count = int(argv[0]) if argv else 40
    scratch = os.path.join(REPO, "build", "bench-mirror")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    upstream = mirrorlab.Upstream(fixtures.build_www(), scratch)
    try:
        grow(upstream, count)
        gnupg, fingerprint = mirrorlab.site_key(scratch)
        root = os.path.join(scratch, "mirror")
        variables = mirrorlab.mirror_vars(upstream, root, gnupg, fingerprint)
        os.makedirs(os.path.join(root, "bin"))
        os.makedirs(os.path.join(root, "etc"))
        script = os.path.join(REPO, "roles", "mirror", "files", "fuel_mirror.py")
        shutil.copy(script, os.path.join(root, "bin", "fuel-mirror.py"))
        config = {"root": root, "gpg_key": fingerprint, "gnupg_home": gnupg, "retention": 3,
                  "apt": variables["mirror_apt_repos"], "rpm": variables["mirror_rpm_repos"],
                  "mu_url": variables["mirror_mu_url"], "mu_releases": variables["mirror_mu_releases"]}
        with open(os.path.join(root, "etc", "config.json"), "w", encoding="utf-8") as out:
            json.dump(config, out)
        command = ["/usr/bin/python3", os.path.join(root, "bin", "fuel-mirror.py"), "--config",
                   os.path.join(root, "etc", "config.json"), "update"]
        plain = Plain(scratch, upstream)

        full, out = timed(command)
        summary = json.loads(out)
        base_full = plain.run()
        upstream.add_version("bulk-new", "1.0-1")
        time.sleep(1)
        incremental, out = timed(command)
        second = json.loads(out)
        base_incremental = plain.run()
    finally:
        upstream.server.stop()
    print("repositories: 2 APT + 2 RPM, %d packages, %.1f MiB in the snapshot" % (
        summary["packages"], summary["bytes"] / 1048576.0))
    print("full run:        fuel-mirror %6.2f s   plain aptly+reposync %6.2f s   ratio %.2f" % (
        full, base_full, full / base_full))
    print("incremental run: fuel-mirror %6.2f s   plain aptly+reposync %6.2f s   ratio %.2f   "
          "(downloaded %.1f KiB, snapshot %s)" % (incremental, base_incremental, incremental / base_incremental,
                                                  second["downloaded_bytes"] / 1024.0, second["snapshot"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
