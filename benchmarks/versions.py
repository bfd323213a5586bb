# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pairs per second: the collection's version filters vs the C libraries on the same pairs.

Run: make bench-versions. The pairs are this machine's real APT version
strings (neighbours after sorting plus random pairs); the C side is timed
inside the system Python (python3-apt's version_compare, python3-rpm's
labelCompare), the filters inside this virtualenv.
"""

import json
import random
import subprocess
import time

from ansible_collections.fuel.lifecycle.plugins.filter.versions import deb_version_compare, rpm_version_compare
from oracle.client import machine_versions

C_TIMER = r"""
import json, sys, time
request = json.load(sys.stdin)
pairs = request["pairs"]
if request["kind"] == "deb":
    import apt_pkg
    apt_pkg.init_system()
    cmp = apt_pkg.version_compare
    start = time.perf_counter()
    for a, b in pairs:
        cmp(a, b)
else:
    import rpm
    def evr(t):
        e = "0"
        if ":" in t:
            e, t = t.split(":", 1)
        v, s, r = t.rpartition("-")
        return (e, v, r) if s else (e, t, None)
    evrs = [(evr(a), evr(b)) for a, b in pairs]
    start = time.perf_counter()
    for a, b in evrs:
        rpm.labelCompare(a, b)
print(time.perf_counter() - start)
"""


def c_seconds(kind, pairs):
    out = subprocess.run(["/usr/bin/python3", "-c", C_TIMER], input=json.dumps({"kind": kind, "pairs": pairs}),
                         text=True, capture_output=True, check=True).stdout
    return float(out)


def main():
    versions = [v for v in machine_versions() if v[:1].isdigit()]
    rng = random.Random(7)
    pairs = [[rng.choice(versions), rng.choice(versions)] for _index in range(100000)]
    print("%d pairs from %d real version strings" % (len(pairs), len(versions)))
    print("%-22s %14s %14s %8s" % ("filter", "filter pairs/s", "C pairs/s", "C/filter"))
    for name, kind, func in (("deb_version_compare", "deb", deb_version_compare),
                             ("rpm_version_compare", "rpm", rpm_version_compare)):
        start = time.perf_counter()
        for left, right in pairs:
            func(left, right)
        ours = len(pairs) / (time.perf_counter() - start)
        theirs = len(pairs) / c_seconds(kind, pairs)
        print("%-22s %14.0f %14.0f %7.1fx" % (name, ours, theirs, theirs / ours))


if __name__ == "__main__":
    main()
