# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Version ordering: known cases, then agreement with the real dpkg and rpm libraries."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fuel.lifecycle.plugins.module_utils import _versions as v
from oracle.client import machine_versions, oracle

DEB_CASES = [
    ("1.0", "1.0-0", 0), ("1.0~rc1", "1.0", -1), ("1.0~~", "1.0~", -1), ("1:0.1", "2.0", 1),
    ("1.0a", "1.0+", -1), ("1.0-1", "1.0-1~bpo1", 1), ("2.0", "10.0", -1), ("1.2-0mos2", "1.2-0mos1", 1),
    ("1.2-0mos1", "1.3-1", -1), ("0:1.0", "1.0", 0), ("1.0-1+mos9.0+2", "1.0-1+mos9.0+10", -1),
    ("7.0~mos9.0-1", "7.0-1", -1), ("1.001", "1.1", 0),
]
RPM_CASES = [
    ("1.0^1", "1.0", 1), ("1.0~rc", "1.0", -1), ("1.0a", "1.0.1", -1), ("1.01", "1.1", 0),
    ("1.0-1", "1.0", 1), ("1:1.0-1", "2.0-1", 1), ("1.0-1.el7", "1.0-1.el7_9", -1), ("a", "1", -1),
    ("1.0_1", "1.0.1", 0), ("2.1-1", "2.0-0mos2", 1),
]


@pytest.mark.parametrize("first, second, expected", DEB_CASES)
def test_deb_known_cases(first, second, expected):
    assert v.deb_compare(first, second) == expected
    assert v.deb_compare(second, first) == -expected


@pytest.mark.parametrize("first, second, expected", RPM_CASES)
def test_rpm_known_cases(first, second, expected):
    assert v.rpm_compare(first, second) == expected
    assert v.rpm_compare(second, first) == -expected


def test_rpm_before_4_10_and_4_15():
    assert v.rpm_compare("1.0~rc1", "1.0", tilde=False) == 1
    assert v.rpm_compare("1.0^1", "1.0.1", caret=False) == 0


@pytest.mark.parametrize("bad", ["", "a:1.0", "1:", ":1.0", "-1", "abc"])
def test_deb_rejects_malformed(bad):
    with pytest.raises(v.VersionError):
        v.deb_compare(bad, "1.0")


def _pairs(versions, count, seed):
    rng = random.Random(seed)
    neighbours = list(zip(versions, versions[1:]))
    return neighbours + [[rng.choice(versions), rng.choice(versions)] for _index in range(count)]


def _agreement(kind, pairs, compare, capsys):
    expected = oracle(kind, pairs)
    mismatches = [(a, b, compare(a, b), e) for (a, b), e in zip(pairs, expected) if compare(a, b) != e]
    with capsys.disabled():
        print("\n%s: %d pairs, %d agree with the C library, %d disagree"
              % (kind, len(pairs), len(pairs) - len(mismatches), len(mismatches)))
    assert not mismatches[:20]


@pytest.fixture(scope="module", name="real_versions")
def real_versions_fixture():
    versions = [x for x in machine_versions() if x[:1].isdigit() or ":" in x]
    assert len(versions) > 1000, "run apt-get update: too few package lists on this machine"
    return versions


def test_deb_agrees_with_dpkg_on_real_versions(real_versions, capsys):
    _agreement("deb", _pairs(real_versions, 20000, 1), v.deb_compare, capsys)


def test_rpm_agrees_with_rpm_on_real_versions(real_versions, capsys):
    _agreement("rpm", _pairs(real_versions, 20000, 2), v.rpm_compare, capsys)


SEGMENT = st.text(alphabet="0123456789abcXYZ", min_size=1, max_size=4)
DEB_VERSION = st.builds(
    lambda epoch, up, sep, rest, rev: "%s%s%s%s%s" % (epoch, up, sep, rest, rev),
    st.sampled_from(["", "1:", "0:", "12:"]), st.text(alphabet="0123456789", min_size=1, max_size=3),
    st.sampled_from(["", ".", "~", "+", "~~", "."]), st.text(alphabet="0123456789ab.~+", max_size=5),
    st.sampled_from(["", "-1", "-0mos1", "-1~bpo1", "-0ubuntu1.2", "-1+mos9.0+3"]))
RPM_VERSION = st.builds(
    lambda epoch, parts, rel: "%s%s%s" % (epoch, parts, rel),
    st.sampled_from(["", "1:", "0:"]),
    st.lists(SEGMENT, min_size=1, max_size=4).flatmap(
        lambda segs: st.lists(st.sampled_from([".", "~", "^", "_", "+"]), min_size=len(segs), max_size=len(segs))
        .map(lambda seps: "".join(s + (p if i < len(segs) - 1 else "") for i, (s, p) in enumerate(zip(segs, seps))))),
    st.sampled_from(["", "-1", "-1.el7", "-0mos2", "-2~rc", "-1^git"]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(DEB_VERSION, DEB_VERSION), min_size=50, max_size=50))
def test_deb_agrees_with_dpkg_on_generated_versions(pairs):
    expected = oracle("deb", [list(p) for p in pairs])
    assert [v.deb_compare(a, b) for a, b in pairs] == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(RPM_VERSION, RPM_VERSION), min_size=50, max_size=50))
def test_rpm_agrees_with_rpm_on_generated_versions(pairs):
    expected = oracle("rpm", [list(p) for p in pairs])
    assert [v.rpm_compare(a, b) for a, b in pairs] == expected
