# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vendor version-string rules, the no-downgrade check, their filter/test plugins and the command."""

from __future__ import annotations

import gzip
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.filter import mos_versions as flt
from ansible_collections.fuel.lifecycle.plugins.module_utils import _mos_rules as mr
from ansible_collections.fuel.lifecycle.plugins.test import mos_versions as tst

# The examples of the versioning spec, each valid for its category, series and channel.
VALID = [
    ("1.2.3-0mos1", "modified", "6.1", "ga"),
    ("1.2.3-0mos2+mos6.1+1", "modified", "6.1", "updates"),
    ("1.2.3-0mos2+mos6.1+2", "specific", "6.1", "updates"),
    ("1.2.4-0mos0+mos6.1+1", "modified", "6.1", "updates"),
    ("1.2.4~mos6.1-0mos1", "upgraded", "6.1", "ga"),
    ("1.2.3~mos6.1-0mos2", "regressed", "6.1", "ga"),
    ("1.2.3~mos6.1-0mos0+mos6.1+2", "regressed", "6.1", "updates"),
    ("1:2014.2.3-0mos1", "modified", None, "ga"),
    ("1.2.3-0ubuntu1", "upstream", None, "ga"),
    ("2.0.1-3.el7", "upstream", None, "ga"),
]

INVALID = [
    ("1.2.3-0ubuntu1", "modified", None, "ga", ["trademark 'ubuntu'", "no 'mos' keyword", "revision '0ubuntu1'"]),
    ("1.2.3-0mos0", "modified", None, "ga", ["0mosN (N >= 1)"]),
    ("1.2.3-1mos1", "specific", None, "ga", ["revision '1mos1'"]),
    ("1.2.3-0mos2", "modified", "6.1", "updates", ["0mosN+mosX.Y+M"]),
    ("1.2.3-0mos2+mos6.1+0", "modified", "6.1", "updates", ["0mosN+mosX.Y+M"]),
    ("1.2.3-0mos2+mos6.0+1", "modified", "6.1", "updates", ["names series 6.0, the build targets 6.1"]),
    ("1.2.4-0mos1", "upgraded", "6.1", "ga", ["ends with ~mosX.Y"]),
    ("1.2.4~mos6.0-0mos1", "upgraded", "6.1", "ga", ["names series 6.0, the build targets 6.1"]),
    ("1.2.3~mos6.1-0mos1", "modified", "6.1", "ga", ["without suffix"]),
    ("1.2.3", "downgraded", None, "ga", ["no 'mos' keyword", "has no revision"]),
    ("7.0-0mos1.centos", "specific", None, "ga", ["trademark 'centos'", "revision '0mos1.centos'"]),
]


@pytest.mark.parametrize("version, category, series, channel", VALID)
def test_valid_versions(version, category, series, channel):
    assert mr.version_problems(version, category, series=series, channel=channel) == []
    assert tst.mos_version_valid(version, category, series=series, channel=channel) is True


@pytest.mark.parametrize("version, category, series, channel, expected", INVALID)
def test_invalid_versions_say_why(version, category, series, channel, expected):
    problems = mr.version_problems(version, category, series=series, channel=channel)
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected):
        assert fragment in problem
    assert flt.mos_version_problems(version, category, series=series, channel=channel) == problems
    assert tst.mos_version_valid(version, category, series=series, channel=channel) is False


def test_bad_arguments_name_the_field():
    for kwargs, field in [({"category": "forked"}, "category"), ({"category": "modified", "channel": "beta"}, "channel"),
                          ({"category": "modified", "series": "6"}, "series")]:
        with pytest.raises(mr.RuleError, match="^%s:" % field):
            mr.version_problems("1.0-0mos1", **kwargs)
        with pytest.raises(AnsibleFilterError, match=field):
            flt.mos_version_problems("1.0-0mos1", **kwargs)
    with pytest.raises(mr.RuleError, match="^version:"):
        mr.version_problems("", "modified")
    assert mr.version_problems("1.0-0mos1-rhel", "modified", trademarks=[]) != []


PROGRESSION = [
    ("6.0", {"nova": ["2014.2-0mos1"], "keystone": ["2014.2-0mos3"], "gone": ["1.0-0mos1"]}),
    ("6.0.1", {"nova": ["2014.2-0mos1", "2014.2-0mos2"]}),
    ("6.1", {"nova": ["2014.2~mos6.1-0mos1"], "keystone": ["2015.1-0mos1"]}),
    ("6.1.1", {"keystone": ["2015.1-0mos1+mos6.1+1"]}),
    ("6.1-updates", {"keystone": ["2015.1-0mos1+mos6.1+2"], "nova": ["2014.2-0mos2+mos6.1+1"]}),
    ("7.0", {"nova": ["1:2015.1-0mos1"], "gone": ["0.9-0mos1"]}),
]


def test_downgrades_along_the_default_progression():
    assert [name for name, dummy in PROGRESSION] == list(mr.DEFAULT_PROGRESSION)
    downgrades = mr.find_downgrades(PROGRESSION, "deb")
    # 6.1's nova (~ sorts before the end) is older than 6.0.1's; 7.0's "gone" is older than 6.0's.
    assert downgrades == [
        {"package": "nova", "version": "2014.2~mos6.1-0mos1", "release": "6.1",
         "previous_version": "2014.2-0mos2", "previous_release": "6.0.1"},
        {"package": "gone", "version": "0.9-0mos1", "release": "7.0",
         "previous_version": "1.0-0mos1", "previous_release": "6.0"},
    ]
    # rpm order agrees here (~ is special in rpm >= 4.10 too).
    assert [d["package"] for d in mr.find_downgrades(PROGRESSION, "rpm")] == ["nova", "gone"]
    as_data = [{"release": name, "packages": packages} for name, packages in PROGRESSION]
    assert flt.mos_downgrades(as_data, kind="deb") == downgrades
    assert mr.find_downgrades(PROGRESSION[3:5], "deb") == []


def test_downgrade_check_errors():
    with pytest.raises(mr.RuleError, match="kind"):
        mr.find_downgrades(PROGRESSION, "tar")
    with pytest.raises(mr.RuleError, match="6.0: package nova"):
        mr.find_downgrades([("6.0", {"nova": ["bad version!"]})], "deb")
    with pytest.raises(AnsibleFilterError, match="item 0"):
        flt.mos_downgrades([{"packages": {}}])


def test_command_on_local_metadata(tmp_path, capsys):
    from tools import mos_version_check as cli  # pylint: disable=import-outside-toplevel

    def packages_file(name, stanzas):
        path = tmp_path / name
        path.write_bytes(gzip.compress("".join("Package: %s\nVersion: %s\n\n" % s for s in stanzas).encode()))
        return str(path)

    old = packages_file("old-Packages.gz", [("nova", "2014.2-0mos2"), ("keystone", "1-0mos1")])
    new = packages_file("new-Packages.gz", [("nova", "2014.2-0mos1")])
    extra = packages_file("extra-Packages.gz", [("keystone", "2-0mos1")])
    assert cli.main(["downgrades", "6.0=" + old, "6.1=%s,%s" % (new, extra)]) == 1
    out = capsys.readouterr().out
    assert "DOWNGRADE nova: 2014.2-0mos2 in 6.0 -> 2014.2-0mos1 in 6.1" in out and "1 downgrade(s)" in out
    assert cli.main(["downgrades", "6.0=" + old, "6.1=" + old]) == 0
    assert cli.main(["downgrades", "6.0"]) == 2
    assert cli.main(["rules", "--category", "modified", "1.0-0mos1"]) == 0
    assert cli.main(["rules", "--category", "modified", "1.0-1"]) == 1
    assert os.path.basename(cli.__file__) == "mos_version_check.py"
