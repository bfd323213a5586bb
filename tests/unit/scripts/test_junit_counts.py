"""scripts/junit_counts.py: per-case counts from real pytest JUnit reports; a bad report is an error."""

import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COUNTER = os.path.join(REPO, "scripts", "junit_counts.py")


def count(path):
    return subprocess.run([sys.executable, COUNTER, str(path)], capture_output=True, text=True, check=False)


def test_counts_a_real_pytest_report(tmp_path):
    (tmp_path / "test_mix.py").write_text(textwrap.dedent("""
        import pytest

        def test_pass(): pass
        def test_fail(): assert False
        @pytest.mark.skip(reason="no")
        def test_skip(): pass
        @pytest.mark.xfail(reason="known")
        def test_xfail(): assert False
        @pytest.mark.xfail(reason="known")
        def test_xpass(): pass
        @pytest.fixture
        def broken(): raise RuntimeError("setup")
        def test_error(broken): pass
    """))
    xml = tmp_path / "report.xml"
    # As the test command runs pytest: xfail strict, so the XPASS is a failed test.
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "xfail_strict=true",
                           "--junitxml", str(xml), str(tmp_path / "test_mix.py")],
                          capture_output=True, text=True, check=False, cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stdout
    out = count(xml)
    assert out.returncode == 0, out.stderr
    passed, failed, skipped, xfailed, xpassed = map(int, out.stdout.split())
    assert (passed, failed, skipped, xfailed, xpassed) == (1, 2, 1, 1, 1)


@pytest.mark.parametrize("content", [None, "", "<testsuite", "<html></html>"])
def test_missing_or_broken_report_is_an_error(tmp_path, content):
    xml = tmp_path / "report.xml"
    if content is not None:
        xml.write_text(content)
    out = count(xml)
    assert out.returncode == 1 and out.stdout == ""
    assert "junit_counts:" in out.stderr
