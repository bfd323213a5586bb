"""boot_backup under hostile options, trees, manifests and archives: no traceback, file named, nothing changed."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import example, given, settings, strategies as st

from ansible_collections.fuel.lifecycle.plugins.modules import boot_backup
from .master_hostile import FILE_CONTENT, NAMES, check_run, place
from module_harness import run_module

FIELDS = ["src", "dest", "state", "force", "manifest", "archive", "boot.tar", "manifest.json"]
TREE_NAMES = st.one_of(st.sampled_from(["a", "grub/grub.cfg", "x" * 255, "ctl\x07name", "new\nline", "é"]),
                       st.text(alphabet=st.characters(blacklist_characters="/\x00"), min_size=1, max_size=40))


@settings(max_examples=25, deadline=None)
@given(state=st.sampled_from(["backed_up", "restored", "verified", "absent"]), force=st.booleans(),
       names=st.lists(TREE_NAMES, max_size=3), manifest=st.one_of(st.none(), FILE_CONTENT),
       archive=st.one_of(st.none(), FILE_CONTENT), take_first=st.booleans(), dest=st.one_of(st.none(), NAMES),
       check_mode=st.booleans())
@example(state="restored", force=False, names=[], manifest={"text": '{"format": 1, "entries": {"../x": {}}}'},
         archive=None, take_first=False, dest=None, check_mode=False)
@example(state="restored", force=False, names=["a"], manifest=None, archive={"bytes": b"\x00" * 700},
         take_first=True, dest=None, check_mode=False)
@example(state="backed_up", force=True, names=[], manifest={"dir": True}, archive=None, take_first=False, dest=None,
         check_mode=False)  # once wrote boot.tar before failing on the manifest directory
def test_hostile(state, force, names, manifest, archive, take_first, dest, check_mode):
    root = tempfile.mkdtemp()
    try:
        boot = os.path.join(root, "boot")
        os.makedirs(boot)
        for name in names:
            try:
                place(boot, name, {"text": "x"})
            except OSError:
                pass  # a name the file system refuses: not an input of the module
        backup = os.path.join(root, "backup")
        if take_first:
            assert not run_module(boot_backup.main, {"src": boot, "dest": backup}).get("failed")
        if manifest:
            place(backup, "manifest.json", manifest)
        if archive:
            place(backup, "boot.tar", archive)
        params = {"src": boot, "dest": backup if dest is None else os.path.join(root, dest) if dest[:1] != "/"
                  else dest, "state": state, "force": force}
        check_run(boot_backup.main, params, root, FIELDS, check_mode=check_mode)
    finally:
        shutil.rmtree(root)
