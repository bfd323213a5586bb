"""repo_priorities under hostile options and hostile host files (property-based).

Whatever the input: no traceback; a failure names the field or the file at fault
and leaves the tree byte-identical; a success writes files that parse back to
exactly the managed sources (nothing injected) and a second run changes nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_files as rf
from ansible_collections.fuel.lifecycle.plugins.modules import repo_priorities
from .hostile import NASTY_FILE, NASTY_VALUE
from module_harness import run_module, tree_digest

FIELDS = ["name", "uri", "suite", "section", "priority", "class", "description", "gpgkey", "proxy", "username",
          "password", "signed_by", "architectures", "pin", "origin", "label", "line", "enabled", "format", "type"]
FILES = ["sources.list", "sources.list.d/other.list", "sources.list.d/debian.sources", "preferences.d/good.pref",
         "yum.repos.d/other.repo", "yum.repos.d/good.repo"]
NAMES = ["name", "uri", "msg", "field", "repos", "yum_priorities", "apt_pins", "package_manager"]


def base_entry(kind):
    if kind == "rpm":
        return {"type": "rpm", "name": "good", "uri": "http://m/rpm/"}
    return {"type": "deb", "name": "good", "uri": "http://m/deb", "suite": "s", "section": "main", "class": "vendor"}


def write_tree(root, files):
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if content == "DIR":
            os.makedirs(path, exist_ok=True)
        else:
            with open(path, "wb") as handle:
                handle.write(content)


def check(kind, field, value, files, options):
    root = tempfile.mkdtemp(prefix="hostile-prio.")
    try:
        os.makedirs(os.path.join(root, "yum.repos.d"))
        write_tree(root, files)
        entry = dict(base_entry(kind))
        entry[field] = value
        second = dict(entry, name=entry.get("name") if field == "name" else "second",
                      uri=entry["uri"] if field == "uri" else entry["uri"] + "2")
        params = {"repos": [base_entry(kind), second],
                  "yum_repos_dir": os.path.join(root, "yum.repos.d"),
                  "apt_sources_dir": os.path.join(root, "sources.list.d"),
                  "apt_sources_list": os.path.join(root, "sources.list"),
                  "apt_preferences_dir": os.path.join(root, "preferences.d"),
                  "package_manager": "rpm" if kind == "rpm" else "apt"}
        params.update(options)
        before = tree_digest(root)
        result = run_module(repo_priorities.main, params)
        if result.get("failed"):
            msg = result.get("msg", "")
            assert msg and (any(n in msg for n in NAMES + [field]) or root in msg), msg
            assert tree_digest(root) == before, msg
            return
        # Written files read back as exactly the managed sources.
        for path in result["files"]:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            if path.endswith(".list") and os.path.basename(path)[:-5] in ("good", "second"):
                assert len(rf.parse_apt_sources_list(text, path)) <= 1, text
            if path.endswith(".repo") and os.path.basename(path)[:-5] in ("good", "second"):
                assert [s for s, _v in rf.parse_ini(text)] == [os.path.basename(path)[:-5]], text
        applied = tree_digest(root)
        again = run_module(repo_priorities.main, params)
        assert not again.get("failed") and again["changed"] is False, again
        assert tree_digest(root) == applied
    finally:
        shutil.rmtree(root)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["rpm", "deb"]), field=st.sampled_from(FIELDS), value=NASTY_VALUE,
       files=st.dictionaries(st.sampled_from(FILES), NASTY_FILE, max_size=2),
       options=st.fixed_dictionaries({}, optional={"exclusive": st.booleans(),
                                                   "apt_pins": st.dictionaries(st.sampled_from(["vendor", "x"]),
                                                                               NASTY_VALUE, max_size=1),
                                                   "yum_priorities": st.dictionaries(st.sampled_from(["vendor"]),
                                                                                     NASTY_VALUE, max_size=1)}))
# Defects this once let through (issue #12), kept as regression data.
@example(kind="deb", field="architectures", value=["amd64] http://other.example/ x main #"], files={}, options={})
@example(kind="deb", field="suite", value="s\n", files={}, options={})
@example(kind="rpm", field="description", value="x\r[evil]\rbaseurl=http://e/\rgpgcheck=0", files={}, options={})
@example(kind="deb", field="name", value="n" * 250, files={}, options={})
@example(kind="rpm", field="name", value="good", files={"yum.repos.d/other.repo": b"[a]\nname=\xe9\n"}, options={})
@example(kind="deb", field="name", value="second", files={"preferences.d/second.pref": "DIR"}, options={})
@example(kind="deb", field="section", value="main", files={"sources.list.d/debian.sources":
         b"Types: deb\nURIs: http://m/deb\nSuites: s s2\nComponents: main\n"}, options={"exclusive": False})
def test_hostile(kind, field, value, files, options):
    check(kind, field, value, files, options)
