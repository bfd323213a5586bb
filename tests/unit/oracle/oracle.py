# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reference comparisons from the real C libraries, run by the system Python.

Debian's python3-apt and python3-rpm are built for /usr/bin/python3, not for
the test virtualenv, so the tests feed this script a JSON document on stdin:
{"kind": "deb"|"rpm", "pairs": [[a, b], ...]} and read the list of -1/0/1.
"""

import json
import sys


def rpm_evr(text):
    epoch = "0"
    if ":" in text:
        epoch, text = text.split(":", 1)
    version, sep, release = text.rpartition("-")
    if not sep:
        version, release = text, None
    return epoch, version, release


def main():
    request = json.load(sys.stdin)
    if request["kind"] == "deb":
        import apt_pkg  # pylint: disable=import-outside-toplevel,import-error
        apt_pkg.init_system()
        results = [apt_pkg.version_compare(a, b) for a, b in request["pairs"]]
    else:
        import rpm  # pylint: disable=import-outside-toplevel,import-error
        results = [rpm.labelCompare(rpm_evr(a), rpm_evr(b)) for a, b in request["pairs"]]
    json.dump([(r > 0) - (r < 0) for r in results], sys.stdout)


if __name__ == "__main__":
    main()
