"""Peak memory of reading a real package index: streaming (repo_check now) against whole-buffer.

Reads the main amd64 Packages index of the first Debian suite this host's apt
sources name (from /etc/apt, not written here), verified against its signed
InRelease, in a child process per method, and prints each one's peak RSS.

    make bench-repo_index_memory
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, lzma, re
sys.path.insert(0, "build/collections")
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_check as rc
method, uri, suite = sys.argv[1:4]

def opener(url, timeout, entry):
    from ansible.module_utils.urls import open_url
    return open_url(url, timeout=timeout)

fetch = rc.Fetcher(opener, 300)
dists = rc.join(uri, "dists", suite)
fields = rc.parse_release(fetch.get(rc.join(dists, "InRelease")).decode())
name = "main/binary-amd64/Packages.xz"
size, sha = rc.release_hashes(fields)[name]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.time()
if method == "streaming":
    sink = rc.Verified(name, rc.PackagesParser({"base-files"}), size, sha)
    fetch.stream(rc.join(dists, name), sink, None, size + 1)
    found = sink.finish()
    count = sink.parser.count
else:  # what repo_check did before: whole download, whole decompression, whole text, regex split
    data = fetch.get(rc.join(dists, name), None, 1 << 30)
    text = lzma.decompress(data).decode("utf-8", "replace")
    packages = {}
    for stanza in re.split(r"\n\s*\n", text):
        n = re.search(r"^Package:\s*(\S+)", stanza, re.M)
        v = re.search(r"^Version:\s*(\S+)", stanza, re.M)
        if n and v:
            packages.setdefault(n.group(1), []).append(v.group(1))
    found, count = {"base-files": packages.get("base-files")}, len(packages)
print(json.dumps({"method": method, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                  "baseline_rss_mb": base / 1024.0, "seconds": round(time.time() - started, 1),
                  "packages": count, "base-files": found.get("base-files"), "compressed_bytes": size}))
"""


def main():
    sys.path.insert(0, "build/collections")
    from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_files as rf  # pylint: disable=import-outside-toplevel

    repos, _pins = rf.read_host_repositories("/")
    debian = [r for r in repos if r["type"] == "deb" and r["enabled"] and r["uri"].startswith("http")
              and "main" in r["section"].split()]
    if not debian:
        sys.exit("no enabled http deb source with main in /etc/apt")
    uri, suite = debian[0]["uri"], debian[0]["suite"]
    print("index: %s/dists/%s/main/binary-amd64/Packages.xz" % (uri, suite))
    for method in ("streaming", "whole-buffer"):
        out = subprocess.run([sys.executable, "-c", CHILD, method, uri, suite], capture_output=True, text=True,
                             check=True).stdout
        print(json.dumps(json.loads(out.strip().splitlines()[-1])))


if __name__ == "__main__":
    main()
