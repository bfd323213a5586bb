"""lvm_snapshot and snapshot_guard under hostile options and LVM command output: no traceback, field or command named."""

from __future__ import annotations

import json
import shutil
import tempfile

from hypothesis import example, given, settings, strategies as st

from ansible_collections.fuel.lifecycle.plugins.modules import lvm_snapshot, snapshot_guard
from .master_cases import fakes
from .master_hostile import JSON_TEXT, NAMES, VALUES, check_run

FIELDS = ["name", "volumes", "size", "state", "transaction_output", "transaction_factor", "require_autoextend",
          "merge_timeout", "fill_threshold", "lvs", "vgs", "lvmconfig", "lvcreate", "lvremove", "lvconvert",
          "snapshot set", "argv", "interval", "timeout", "grace", "sh", "true"]
GOOD_LVS = json.dumps({"report": [{"lv": [
    {"lv_name": "root", "vg_name": "os", "lv_attr": "owi-aos---", "lv_size": "1887436800", "origin": "",
     "data_percent": "", "lv_tags": ""},
    {"lv_name": "root_up_snap", "vg_name": "os", "lv_attr": "swi-a-s---", "lv_size": "209715200", "origin": "root",
     "data_percent": "5.00", "lv_tags": "fuel_snapset_up,fuel_snapset_up_n1"}]}]})
GOOD_VGS = json.dumps({"report": [{"vg": [{"vg_name": "os", "vg_size": "3753902080", "vg_free": "1132462080",
                                          "vg_extent_size": "4194304", "vg_free_count": "270"}]}]})
OUTPUT = st.one_of(st.just(GOOD_LVS), JSON_TEXT,
                   st.builds(lambda v: json.dumps({"report": [{"lv": v, "vg": v}]}), VALUES))
SIZES = st.one_of(st.sampled_from(["200M", "10%ORIGIN", "1e9", "-1M", "0", "999999999999999999P", "5%FREE"]), NAMES)
VOLUME = st.one_of(st.fixed_dictionaries({"vg": st.one_of(st.just("os"), NAMES),
                                          "lv": st.one_of(st.just("root"), NAMES), "size": SIZES}),
                   # a volume that is not a dict is refused by ansible-core's own argument check, whose
                   # message does not name the option: only dicts are generated
                   st.dictionaries(NAMES, VALUES, max_size=3))


@settings(max_examples=60, deadline=None)
@given(name=st.one_of(st.just("up"), NAMES), state=st.sampled_from(["present", "absent", "reverted", "listed", "checked"]),
       volumes=st.one_of(st.none(), st.lists(VOLUME, max_size=2)), lvs=OUTPUT, vgs=st.one_of(st.just(GOOD_VGS), OUTPUT),
       rc=st.sampled_from([0, 0, 5]), transaction=st.one_of(st.none(), st.text(max_size=60),
                                                            st.just("Total download size: 1e400 M\nInstalled size: 3 G")),
       factor=st.one_of(st.just(1.5), st.floats(allow_nan=True)), check_mode=st.booleans())
@example(name="up", state="present", volumes=[{"vg": "os", "lv": "root", "size": "200M"}], lvs=GOOD_LVS, vgs=GOOD_VGS,
         rc=0, transaction="Total download size: 1e400 M", factor=1.5, check_mode=False)
@example(name="up", state="present", volumes=[{"vg": "os", "lv": "root", "size": "200M"}],
         lvs=json.dumps({"report": [{"lv": [{"lv_name": 5}]}]}), vgs=GOOD_VGS, rc=0, transaction=None, factor=1.5,
         check_mode=False)
def test_lvm_snapshot_hostile(name, state, volumes, lvs, vgs, rc, transaction, factor, check_mode):
    root = tempfile.mkdtemp()
    try:
        case = {"responses": {"lvs": [[rc, lvs, "lvs error"]], "vgs": [[rc, vgs, "vgs error"]],
                              "lvmconfig": [[rc, "monitoring=1\n", ""]], "lvcreate": [[rc, "", "no space"]],
                              "lvremove": [[rc, "", "busy"]], "lvconvert": [[rc, "", "busy"]],
                              "dmsetup": [[rc, "0 1 snapshot-merge", ""]], "vgchange": [[rc, "", ""]]}}
        params = {"name": name, "state": state, "merge_timeout": 0, "transaction_factor": factor}
        if volumes is not None:
            params["volumes"] = volumes
        if transaction is not None:
            params["transaction_output"] = transaction
        check_run(lvm_snapshot.main, params, root, FIELDS, check_mode=check_mode, fakes=fakes(case, root))
    finally:
        shutil.rmtree(root)


@settings(max_examples=30, deadline=None)
@given(name=st.one_of(st.just("up"), NAMES), lvs=OUTPUT, threshold=st.one_of(st.just(80.0), st.floats(allow_nan=True)),
       interval=st.one_of(st.just(0.1), st.floats(max_value=0.5), st.just(float("nan"))), argv=st.one_of(
           st.just(["true"]), st.lists(NAMES, max_size=2)), check_mode=st.booleans())
@example(name="up", lvs=GOOD_LVS, threshold=float("nan"), interval=0.1, argv=["true"], check_mode=False)
def test_snapshot_guard_hostile(name, lvs, threshold, interval, argv, check_mode):
    root = tempfile.mkdtemp()
    try:
        case = {"responses": {"lvs": [[0, lvs, ""]]}, "missing_binaries": [a for a in argv[:1] if a != "true"]}
        params = {"name": name, "argv": argv, "fill_threshold": threshold, "interval": interval, "grace": 1,
                  "timeout": 5}
        check_run(snapshot_guard.main, params, root, FIELDS, check_mode=check_mode, fakes=fakes(case, root))
    finally:
        shutil.rmtree(root)
