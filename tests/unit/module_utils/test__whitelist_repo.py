# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning of the whitelist repository and the package_changes filter."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fuel.lifecycle.plugins.filter.package_changes import package_changes
from ansible_collections.fuel.lifecycle.plugins.module_utils import _whitelist_repo as wr

FILES = ["/r/Packages/a-1.0-1.noarch.rpm", "/r/Packages/a-1.1-1.noarch.rpm", "/r/b-2-1.noarch.rpm"]
QUERY = "a\t0:1.0-1.noarch\na\t0:1.1-1.noarch\nb\t0:2-1.noarch\n"


def test_plan_first_run_second_run_and_missing():
    headers = wr.parse_query(QUERY, FILES)
    first = wr.plan(["a", "c"], headers, [])
    assert first["add"] == ["a-1.0-1.noarch.rpm", "a-1.1-1.noarch.rpm"] and first["remove"] == []
    assert first["missing"] == ["c"] and first["packages"] == {"a": ["0:1.0-1.noarch", "0:1.1-1.noarch"]}
    second = wr.plan(["a"], headers, first["wanted"])
    assert second["add"] == [] and second["remove"] == []
    shrink = wr.plan(["b"], headers, first["wanted"])
    assert shrink["add"] == ["b-2-1.noarch.rpm"] and shrink["remove"] == first["wanted"]


def test_bad_input_names_the_field():
    with pytest.raises(wr.WhitelistError, match=r"packages\[1\]"):
        wr.validate_names(["ok", "bad name;rm"])
    with pytest.raises(wr.WhitelistError, match="empty"):
        wr.validate_names([])
    with pytest.raises(wr.WhitelistError, match="2 headers for 3 files"):
        wr.parse_query("a\t0:1-1.noarch\nb\t0:2-1.noarch\n", FILES)


def test_package_changes():
    before = ["a 0:1-1.noarch", "b 0:1-1.noarch", "c 0:1-1.noarch"]
    after = ["a 0:1-2.noarch", "c 0:1-1.noarch", "d 0:3-1.noarch"]
    changes = package_changes(before, after)
    assert changes == {"installed": [{"name": "d", "version": "0:3-1.noarch"}],
                       "removed": [{"name": "b", "version": "0:1-1.noarch"}],
                       "changed": [{"name": "a", "before": "0:1-1.noarch", "after": "0:1-2.noarch"}], "count": 3}
    assert package_changes(before, before)["count"] == 0
    with pytest.raises(AnsibleFilterError, match="NAME VERSION"):
        package_changes(["a 1 2"], [])
