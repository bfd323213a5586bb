# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation, rendering and planning of repository sets."""

from __future__ import annotations

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_set as rs

URL = "http://mirror.example"


def rpm(name, **extra):
    return dict({"type": "rpm", "name": name, "uri": "%s/rpm/%s/" % (URL, name)}, **extra)


def deb(name, suite, **extra):
    return dict({"type": "deb", "name": name, "uri": "%s/deb/%s" % (URL, name), "suite": suite, "section": "main"},
                **extra)


MALFORMED = [
    ([{"type": "yum", "name": "a", "uri": URL}], "repos[0] (a): field 'type': unknown type 'yum'"),
    ([{"name": "a", "uri": URL}], "repos[0] (a): field 'type'"),
    ([rpm("a", uri="http//h/rpm")], "repos[0] (a): field 'uri': URI 'http//h/rpm': scheme must be"),
    ([rpm("a", uri="http:///rpm")], "has no host"),
    ([rpm("a", uri="http://h:99999/")], "invalid port"),
    ([rpm("a", uri="http://h/a b")], "contains whitespace"),
    ([rpm("a", uri="file:relative/path")], "absolute path"),
    ([{"name": "a", "line": "deb http://h/deb"}], "repos[0] (a): field 'line': not a deb line"),
    ([{"name": "a", "line": "deb [signed-by] http://h/deb s main"}], "is not key=value"),
    ([{"name": "a", "line": "deb [foo=bar] http://h/deb s main"}], "unsupported option(s) foo"),
    ([{"name": "a", "line": "deb http://h/deb s main", "uri": URL}], "field 'uri': give either 'line'"),
    ([rpm("a"), rpm("a")], "repos[1] (a): field 'name': duplicate name 'a' (also repos[0])"),
    ([rpm("a", priority=0)], "field 'priority': 0 is outside 1-99"),
    ([rpm("a", priority=100)], "field 'priority': 100 is outside 1-99"),
    ([rpm("a", priority="ten")], "field 'priority': 'ten' is not an integer"),
    ([rpm("a", priority=True)], "field 'priority': True is not an integer"),
    ([deb("a", "s", priority="high")], "repos[0] (a): field 'priority': 'high' is not an integer"),
    ([deb("a", "s", priority=1.5)], "field 'priority': 1.5 is not an integer"),
    ([deb("a", "s", priority=40000)], "out of range"),
    ([rpm("a", suite="mos9.0")], "repos[0] (a): field 'suite': rpm repositories have no suite"),
    ([rpm("a", section="main")], "field 'section': rpm repositories have no section"),
    ([rpm("a", **{"class": "vendr"})], "field 'class': unknown class 'vendr'"),
    ([deb("a", "s", section="")], "field 'section': at least one section"),
    ([deb("a", "flat/", section="main")], "flat repository"),
    ([deb("a", "s b")], "field 'suite'"),
    ([deb("my repo", "s")], "field 'name': 'my repo' is not a valid name"),
    ([rpm("a b")], "field 'name'"),
    ([deb("a", "s", uri="http://user:pw@h/deb")], "credentials in a deb URI"),
    ([deb("a", "s", signed_by="keys/a.gpg")], "field 'signed_by': must be the absolute path"),
    ([deb("a", "s", pin="a=s")], "field 'pin'"),
    ([deb("a", "s", **{"class": "vendor"}), deb("b", "s", **{"class": "holdback"})], "field 'pin'"),
    ([rpm("a", username="u")], "field 'password': username and password go together"),
    ([rpm("a", gpgkey="not a url")], "field 'gpgkey'"),
    ([rpm("a", proxy="proxy:3128")], "field 'proxy'"),
    ([rpm("a", signed_by="/k.gpg")], "field 'signed_by': unknown field for a rpm repository"),
    ([rpm("a", enabled="maybe")], "field 'enabled'"),
    ([deb("a", "s"), deb("b", "s", uri="%s/deb/a/" % URL)],
     "repos (b): field 'uri': deb %s/deb/a/ s is already in the set as a" % URL),
    ("not a list", "repos: must be a list"),
    (["just a string"], "repos[0]: must be a dict"),
]


@pytest.mark.parametrize("entries,message", MALFORMED)
def test_malformed_sets_name_entry_and_field(entries, message):
    with pytest.raises(rs.RepoSetError) as info:
        rs.normalize(entries)
    assert message in str(info.value)


def test_preset_tables_validated():
    with pytest.raises(rs.RepoSetError, match=r"yum_priorities.vendor: 120"):
        rs.normalize([rpm("a")], yum_priorities={"vendor": 120})
    with pytest.raises(rs.RepoSetError, match=r"apt_pins.vendor"):
        rs.normalize([rpm("a")], apt_pins={"vendor": "x"})


def test_presets_apply_per_class_and_explicit_priority_wins():
    entries = rs.normalize([rpm("u", **{"class": "upstream"}), rpm("v", **{"class": "vendor"}),
                            rpm("h", **{"class": "holdback"}), rpm("d", **{"class": "developer"}), rpm("x"),
                            rpm("p", priority="15", **{"class": "vendor"}),
                            deb("dv", "mos", **{"class": "vendor"}), deb("dh", "mos-holdback", **{"class": "holdback"}),
                            deb("dd", "dev", **{"class": "developer"}), deb("du", "up", **{"class": "upstream"}),
                            deb("dx", "x", priority=990)])
    assert [e["priority"] for e in entries] == [70, 50, 30, 10, 70, 15, 1050, 1200, 1300, None, 990]
    assert rs.normalize([rpm("v", **{"class": "vendor"})], yum_priorities={"vendor": 40})[0]["priority"] == 40
    # Survey answers arrive as text.
    assert rs.normalize([deb("v", "s", **{"class": "vendor"})], apt_pins={"vendor": "990"})[0]["priority"] == 990


def test_deb_line_is_parsed_into_fields():
    entry = rs.normalize([{"name": "vendor", "class": "vendor", "line":
                           "deb [arch=amd64 signed-by=/etc/apt/keyrings/v.gpg] http://m/deb mos9.0 main restricted"}])[0]
    assert entry["uri"] == "http://m/deb" and entry["suite"] == "mos9.0"
    assert entry["section"] == ["main", "restricted"] and entry["signed_by"] == "/etc/apt/keyrings/v.gpg"
    assert entry["architectures"] == ["amd64"] and entry["pin"] == "release n=mos9.0"
    assert rs.render_deb_list(entry).splitlines()[1] == (
        "deb [arch=amd64 signed-by=/etc/apt/keyrings/v.gpg] http://m/deb mos9.0 main restricted")


def test_same_name_allowed_once_per_kind():
    assert len(rs.normalize([rpm("vendor"), deb("vendor", "mos")])) == 2


NAILGUN = "[nailgun]\nname=Local\nbaseurl=file:///var/www/nailgun\ngpgcheck=0\n"
FOREIGN = "# written by the installer\n[base]\nname=Base OS\nbaseurl=http://os/base/\nenabled=1\n\n[extras]\nname=x\nbaseurl=http://os/extras/\n"


def apply_changes(files, changes):
    result = dict(files)
    for change in changes:
        if change["after"] is None:
            result.pop(change["path"], None)
        else:
            result[change["path"]] = change["after"]
    return result


def test_yum_plan_creates_edits_and_is_idempotent():
    entries = rs.normalize([rpm("vendor", **{"class": "vendor"}), rpm("base", priority=70)])
    files = {"/r/nailgun.repo": NAILGUN, "/r/os.repo": FOREIGN}
    changes, disabled = rs.plan_yum(entries, files, "/r", exclusive=True)
    after = apply_changes(files, changes)
    assert after["/r/vendor.repo"] == ("[vendor]\nname=vendor\nbaseurl=%s/rpm/vendor/\nenabled=1\npriority=50\n"
                                       "gpgcheck=1\n" % URL)
    # Foreign file: comment and name kept, keys edited in place, other section disabled.
    assert after["/r/os.repo"].startswith("# written by the installer\n[base]\nname=Base OS\nbaseurl=%s/rpm/base/\n"
                                          "enabled=1\npriority=70\ngpgcheck=1\n\n[extras]" % URL)
    assert "[extras]\nname=x\nbaseurl=http://os/extras/\nenabled=0\n" in after["/r/os.repo"]
    assert after["/r/nailgun.repo"] == NAILGUN + "enabled=0\n"
    assert sorted(disabled) == ["extras", "nailgun"]
    assert rs.plan_yum(entries, after, "/r", exclusive=True) == ([], [])


def test_yum_plan_without_exclusive_leaves_other_repos():
    changes, disabled = rs.plan_yum(rs.normalize([rpm("vendor")]), {"/r/nailgun.repo": NAILGUN}, "/r")
    assert [c["path"] for c in changes] == ["/r/vendor.repo"] and disabled == []


def test_yum_credentials_make_file_secret_and_diff_redacts():
    entries = rs.normalize([rpm("vendor", username="u", password="pw", sslverify=False, proxy="http://p:3128")])
    changes, _disabled = rs.plan_yum(entries, {}, "/r")
    assert changes[0]["secret"] is True
    assert "password=pw\nsslverify=0\n" in changes[0]["after"] and "proxy=http://p:3128" in changes[0]["after"]
    assert "pw" not in rs.diff_of(changes)[0]["after"].replace("password=********", "")
    assert "password" not in str(rs.summary(entries))


def test_yum_disabled_entry_and_already_disabled_foreign():
    entries = rs.normalize([rpm("vendor", enabled=False)])
    files = {"/r/nailgun.repo": "[nailgun]\nbaseurl=file:///x\nenabled = no\n"}
    changes, disabled = rs.plan_yum(entries, files, "/r", exclusive=True)
    assert disabled == [] and "enabled=0" in changes[0]["after"]


LAB_LIST = ("deb [signed-by=/k.gpg] http://m/deb/vendor mos9.0 main\n"
            "deb [signed-by=/k.gpg] http://m/deb/mu1 mos9.0-mu1 main\n")


def test_apt_plan_sources_pins_and_duplicates():
    entries = rs.normalize([
        {"type": "deb", "name": "vendor", "class": "vendor", "uri": "http://m/deb/vendor/", "suite": "mos9.0",
         "section": ["main"], "signed_by": "/k.gpg"},
        {"type": "deb", "name": "upstream", "class": "upstream", "uri": "http://m/deb/upstream", "suite": "up",
         "section": "main", "format": "deb822", "signed_by": "/k.gpg"}])
    files = {"/s/fuel-lab.list": LAB_LIST}
    changes, disabled = rs.plan_apt(entries, files, {}, "/s", "/p")
    after = apply_changes(files, changes)
    assert after["/s/fuel-lab.list"].splitlines()[0].startswith("# disabled by fuel.lifecycle.repo_priorities")
    assert after["/s/fuel-lab.list"].splitlines()[1] == LAB_LIST.splitlines()[1]
    assert disabled == ["deb [signed-by=/k.gpg] http://m/deb/vendor mos9.0 main"]
    assert after["/s/vendor.list"].splitlines()[1] == "deb [signed-by=/k.gpg] http://m/deb/vendor/ mos9.0 main"
    assert "Types: deb\nURIs: http://m/deb/upstream\nSuites: up\nComponents: main\nSigned-By: /k.gpg\n" \
        in after["/s/upstream.sources"]
    assert after["/p/vendor.pref"] == ("Explanation: Managed by fuel.lifecycle.repo_priorities: vendor (class vendor)\n"
                                       "Package: *\nPin: release n=mos9.0\nPin-Priority: 1050\n")
    assert "/p/upstream.pref" not in after
    prefs = {k: v for k, v in after.items() if k.startswith("/p/")}
    sources = {k: v for k, v in after.items() if k.startswith("/s/")}
    assert rs.plan_apt(entries, sources, prefs, "/s", "/p") == ([], [])


def test_apt_exclusive_comments_lines_and_disables_deb822():
    entries = rs.normalize([deb("vendor", "mos9.0")])
    files = {"/s/other.list": "# keep\ndeb http://o/ bookworm main\n",
             "/s/debian.sources": "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n"}
    changes, disabled = rs.plan_apt(entries, files, {}, "/s", "/p", exclusive=True)
    after = apply_changes(files, changes)
    assert after["/s/other.list"] == ("# keep\n# disabled by fuel.lifecycle.repo_priorities (not in the set): "
                                      "deb http://o/ bookworm main\n")
    assert after["/s/debian.sources"].endswith("Enabled: no\n")
    assert len(disabled) == 2
    assert rs.plan_apt(entries, after, {c["path"]: c["after"] for c in changes if c["path"].startswith("/p")},
                       "/s", "/p", exclusive=True)[0] == []


def test_apt_pin_file_removed_when_class_loses_its_pin():
    entries = rs.normalize([deb("vendor", "mos9.0", **{"class": "vendor"})], apt_pins={"vendor": None})
    old = rs.render_pin(rs.normalize([deb("vendor", "mos9.0", **{"class": "vendor"})])[0])
    changes, _disabled = rs.plan_apt(entries, {}, {"/p/vendor.pref": old}, "/s", "/p")
    assert [(c["path"], c["before"], c["after"]) for c in changes if c["path"] == "/p/vendor.pref"] == [
        ("/p/vendor.pref", old, None)]
    # A pin file written by someone else is never removed.
    changes, _disabled = rs.plan_apt(entries, {}, {"/p/vendor.pref": "Package: *\nPin: origin x\nPin-Priority: 1\n"},
                                     "/s", "/p")
    assert all(c["path"] != "/p/vendor.pref" for c in changes)


def test_disabled_deb_entry_rendered_commented():
    entry = rs.normalize([deb("vendor", "mos9.0", enabled=False)])[0]
    assert rs.render_deb_list(entry).splitlines()[1].startswith("# deb ")
    assert "Enabled: no" in rs.render_deb822(entry)


def test_entry_from_params_drops_other_kind_defaults():
    params = {key: spec.get("default") for key, spec in rs.REPO_OPTIONS.items()}
    params.update(type="rpm", name="a", uri=URL)
    assert rs.entry_from_params(params) == {"type": "rpm", "name": "a", "uri": URL, "class": "extra",
                                            "enabled": True, "gpgcheck": True}


def test_rpm_entry_without_uri_edits_existing_repo_only():
    entries = rs.normalize([{"type": "rpm", "name": "base", "enabled": False, "priority": 90}])
    files = {"/r/os.repo": FOREIGN}
    changes, _disabled = rs.plan_yum(entries, files, "/r")
    after = apply_changes(files, changes)["/r/os.repo"]
    assert "[base]\nname=Base OS\nbaseurl=http://os/base/\nenabled=0\npriority=90\ngpgcheck=1\n" in after
    with pytest.raises(rs.RepoSetError, match=r"repos \(absent\): field 'uri': required, no repository absent"):
        rs.plan_yum(rs.normalize([{"type": "rpm", "name": "absent"}]), files, "/r")
