"""Print "<passed> <failed> <skipped> <xfailed> <xpassed>" from a pytest JUnit XML file.

Counted per test case. The test command runs pytest with xfail_strict, so an
XPASS is a failed test, recorded as <failure message="[XPASS(strict)] ...">
(older pytest: <skipped> "passes unexpectedly"): counted here as xpassed, not
as failed (the test command adds it to the failures), never as a pass. A missing or unreadable file is
an error (exit status 1): the step that produced it then fails.
"""

import sys
import xml.etree.ElementTree as ET

XPASS_MESSAGE = "xfail-marked test passes unexpectedly"
XPASS_STRICT = "[XPASS(strict)]"


def counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if root.tag not in ("testsuite", "testsuites") or not suites:
        raise ValueError("%s: not a JUnit report (root element %r)" % (path, root.tag))
    tally = {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0, "xpassed": 0}
    for suite in suites:
        for case in suite.iter("testcase"):
            tags = {child.tag: child for child in case}
            if "failure" in tags and (tags["failure"].get("message") or "").startswith(XPASS_STRICT) \
                    and "error" not in tags:
                tally["xpassed"] += 1
            elif "failure" in tags or "error" in tags:
                tally["failed"] += 1
            elif "skipped" in tags:
                skipped = tags["skipped"]
                if skipped.get("type") == "pytest.xfail":
                    tally["xfailed"] += 1
                elif skipped.get("message") == XPASS_MESSAGE:
                    tally["xpassed"] += 1
                else:
                    tally["skipped"] += 1
            else:
                tally["passed"] += 1
    return tally


def main(argv):
    if len(argv) != 2:
        print("usage: junit_counts.py REPORT.xml", file=sys.stderr)
        return 2
    try:
        tally = counts(argv[1])
    except (OSError, ET.ParseError, ValueError) as exc:
        print("junit_counts: %s" % exc, file=sys.stderr)
        return 1
    print(tally["passed"], tally["failed"], tally["skipped"], tally["xfailed"], tally["xpassed"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
