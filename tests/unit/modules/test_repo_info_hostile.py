"""repo_info over hostile host files (property-based): no traceback, the file at fault named."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.fuel.lifecycle.plugins.modules import repo_info
from .hostile import NASTY_FILE
from module_harness import run_module, tree_digest

FILES = ["etc/yum.repos.d/a.repo", "etc/apt/sources.list", "etc/apt/sources.list.d/a.list",
         "etc/apt/sources.list.d/a.sources", "etc/apt/preferences.d/a.pref", "etc/apt/preferences.d/b"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(st.sampled_from(FILES), NASTY_FILE, min_size=1, max_size=4))
@example(files={"etc/yum.repos.d/a.repo": b"[a]\npriority=high\nbaseurl=http://x/\n"})
@example(files={"etc/apt/preferences.d/a.pref": b"Package: *\nPin: release a=x\nPin-Priority: 1e9\n"})
@example(files={"etc/apt/sources.list": "DIR"})
def test_hostile_files(files):
    root = tempfile.mkdtemp(prefix="hostile-info.")
    try:
        for rel, content in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if content == "DIR":
                os.makedirs(path)
            else:
                with open(path, "wb") as handle:
                    handle.write(content)
        before = tree_digest(root)
        result = run_module(repo_info.main, {"root": root})
        assert tree_digest(root) == before
        if result.get("failed"):
            assert root in result["msg"], result["msg"]
    finally:
        shutil.rmtree(root)
