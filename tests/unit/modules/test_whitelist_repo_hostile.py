"""whitelist_repo under hostile options, rpm output and createrepo results: no traceback, nothing changed on failure."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import example, given, settings, strategies as st

from ansible_collections.fuel.lifecycle.plugins.modules import whitelist_repo
from .master_cases import fakes
from .master_hostile import NAMES, check_run, place

FIELDS = ["src", "dest", "packages", "createrepo_command", "allow_missing", "rpm", "createrepo"]
RELATION = st.sampled_from(["sibling", "same", "inside", "holds", "link-inside", "file", "missing-parent"])


@settings(max_examples=40, deadline=None)
@given(packages=st.lists(st.one_of(st.sampled_from(["a", "b"]), NAMES), max_size=3), relation=RELATION,
       rpm_rc=st.sampled_from([0, 0, 1]),
       rpm_out=st.one_of(st.just("a\t0:1-1.noarch\nb\t0:1-1.noarch\n"), st.text(max_size=40)),
       createrepo_rc=st.sampled_from([0, 1, 127]),
       command=st.one_of(st.just(["createrepo_c"]), st.lists(NAMES, max_size=2)),
       existing=st.booleans(), check_mode=st.booleans())
@example(packages=["a"], relation="same", rpm_rc=0, rpm_out="a\t0:1-1.noarch\nb\t0:1-1.noarch\n", createrepo_rc=0,
         command=["createrepo_c"], existing=True, check_mode=False)
@example(packages=["a"], relation="sibling", rpm_rc=0, rpm_out="a\t0:1-1.noarch\nb\t0:1-1.noarch\n",
         createrepo_rc=1, command=["createrepo_c"], existing=True, check_mode=False)
def test_hostile(packages, relation, rpm_rc, rpm_out, createrepo_rc, command, existing, check_mode):
    root = tempfile.mkdtemp()
    try:
        src = os.path.join(root, "src")
        place(src, "a-1-1.noarch.rpm", {"text": "A"})
        place(src, "b-1-1.noarch.rpm", {"text": "B"})
        dest = {"sibling": os.path.join(root, "dest"), "same": src, "inside": os.path.join(src, "base"),
                "holds": root, "link-inside": os.path.join(root, "alias", "base"), "file": os.path.join(root, "f"),
                "missing-parent": os.path.join(root, "no", "dest")}[relation]
        os.symlink(src, os.path.join(root, "alias"))
        place(root, "f", {"text": "file"})
        if existing and relation == "sibling":
            place(dest, "b-1-1.noarch.rpm", {"text": "B"})
            place(dest, "repodata/repomd.xml", {"text": "old"})
        case = {"responses": {"rpm": [[rpm_rc, rpm_out, "rpm error"]], "createrepo_c": [[createrepo_rc, "", "boom"]]}}
        if command and command != ["createrepo_c"]:
            case["responses"][os.path.basename(command[0]) or "x"] = [[createrepo_rc, "", "boom"]]
        params = {"src": src, "dest": dest, "packages": packages, "createrepo_command": command}
        result = check_run(whitelist_repo.main, params, root, FIELDS, check_mode=check_mode, fakes=fakes(case, root))
        if relation in ("same", "inside", "holds", "link-inside"):
            assert result.get("failed"), result
    finally:
        shutil.rmtree(root)
