"""No-downgrade check along a release progression, over the lab mirror's real repository metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from labfixture import REPO

# Release progression of the fixture repositories: 9.0 GA, its two maintenance updates, 9.1 and its updates.
PROGRESSION = [("9.0", "vendor", "mos9.0"), ("9.0-mu1", "mu1", "mos9.0-mu1"), ("9.0-mu2", "mu2", "mos9.0-mu2"),
               ("9.1", "next", "mos9.1"), ("9.1-updates", "next-updates", "mos9.1-updates")]
EXPECTED = [{"package": "fuel-dashboard", "version": "3.0-0mos1+mos9.1+1", "release": "9.1-updates",
             "previous_version": "3.1-0mos1", "previous_release": "9.1"}]


def check(*args):
    proc = subprocess.run([sys.executable, "-m", "tools.mos_version_check"] + list(args), cwd=REPO, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          env=dict(os.environ, no_proxy="127.0.0.1"))
    return proc


def test_fixture_progression_has_the_one_deliberate_downgrade(lab):
    url = lab.mirror_url
    deb = ["%s=%s/deb/%s/dists/%s/main/binary-amd64/Packages.gz" % (name, url, repo, suite)
           for name, repo, suite in PROGRESSION]
    rpm = ["%s=%s/rpm/%s/" % (name, url, repo) for name, repo, dummy in PROGRESSION]
    for kind, releases in (("deb", deb), ("rpm", rpm)):
        proc = check("downgrades", "--json", *releases)
        assert proc.returncode == 1, proc.stderr
        report = json.loads(proc.stdout)
        assert report["kind"] == kind and report["downgrades"] == EXPECTED
    # Without the update channel the progression is clean.
    proc = check("downgrades", *deb[:4])
    assert proc.returncode == 0 and "0 downgrade(s)" in proc.stdout, proc.stdout + proc.stderr
    # Unreachable metadata is an error, not a clean report.
    proc = check("downgrades", "9.0=%s/deb/absent/Packages.gz" % url)
    assert proc.returncode == 2 and "error:" in proc.stderr
