# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot-set planning over replayed ``lvs``/``vgs`` JSON reports (behaviour is proven in the VM)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _lvm

MIB = 1024 ** 2
EXTENT = 4 * MIB


def lv_row(name, size, attr="-wi-ao----", origin="", data_percent="", tags="", open_="open", merging=""):
    return {"lv_name": name, "vg_name": "os", "lv_attr": attr, "lv_size": str(size), "origin": origin,
            "origin_size": "", "data_percent": data_percent, "lv_tags": tags, "lv_device_open": open_,
            "lv_merging": merging, "lv_path": "/dev/os/%s" % name}


def report(key, rows):
    return json.dumps({"report": [{key: rows}]})


ORIGINS = [lv_row("root", 1800 * MIB, "owi-aos---"), lv_row("var", 500 * MIB, "owi-aos---"),
           lv_row("varlog", 200 * MIB, "owi-aos---")]
VGS = [{"vg_name": "os", "vg_size": str(3580 * MIB), "vg_free": str(1080 * MIB),
        "vg_extent_size": str(EXTENT), "vg_free_count": "270"}]


def member(origin, size, fill="0.01", attr="swi-a-s---", tags="fuel_snapset_up,fuel_snapset_up_n3", merging=""):
    return lv_row("%s_up_snap" % origin, size, attr, origin, fill, tags, "", merging)


class Replay:
    """A runner that answers lvs/vgs from data and records changing commands."""

    def __init__(self, lvs, vgs=None, fail=None):
        self.lvs, self.vgs, self.fail = lvs, vgs or VGS, fail or {}
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[0] == "lvs":
            return 0, report("lv", self.lvs), ""
        if argv[0] == "vgs":
            return 0, report("vg", self.vgs), ""
        if argv[0] in self.fail:
            return 5, "", self.fail[argv[0]]
        return 0, "", ""

    def changes(self):
        """Every command but the lvs/vgs/lvmconfig reports."""
        return [c for c in self.calls if c[0] not in ("lvs", "vgs", "lvmconfig")]


VOLUMES = [{"vg": "os", "lv": "root", "size": "10%ORIGIN"}, {"vg": "os", "lv": "var", "size": "100M"},
           {"vg": "os", "lv": "varlog", "size": "10%FREE"}]


def test_report_commands_use_json_bytes_and_no_suffix():
    runner = Replay(ORIGINS)
    _lvm.read_lvs(runner)
    _lvm.read_vgs(runner)
    for argv in runner.calls:
        assert argv[-7:-1] == ["--reportformat", "json", "--units", "b", "--nosuffix", "-o"]
    assert runner.calls[0][1] == "-a"  # merging snapshots are hidden LVs


@pytest.mark.parametrize("text, expected", [
    ("512M", 512 * MIB), ("2g", 2 * 1024 ** 3), ("100", 100 * MIB), ("4096b", 4096), ("1.5K", 1536), ("8s", 4096),
])
def test_absolute_sizes_are_lvm_units(text, expected):
    assert _lvm.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-1G", "0", "10%", "5X"])
def test_bad_sizes_name_the_field(text):
    with pytest.raises(_lvm.LvmError, match=r"volumes\[0\]\.size"):
        _lvm.normalise_volumes([{"vg": "os", "lv": "root", "size": text}])


def test_sizes_round_up_to_extents_for_origin_free_and_absolute():
    planned = _lvm.plan_sizes(VOLUMES, _lvm.parse_vgs(VGS), _lvm.parse_lvs(ORIGINS))
    # 10% of 1800 MiB = 180 MiB -> 180 (multiple of 4); 100M -> 100; 10% of 1080 MiB = 108 MiB -> 108
    assert [p["bytes"] for p in planned] == [180 * MIB, 100 * MIB, 108 * MIB]
    odd = _lvm.plan_sizes([{"vg": "os", "lv": "root", "size": "1M"}, {"vg": "os", "lv": "var", "size": "7%ORIGIN"}],
                          _lvm.parse_vgs(VGS), _lvm.parse_lvs(ORIGINS))
    assert [p["bytes"] for p in odd] == [EXTENT, 36 * MIB]  # 1 MiB -> 1 extent; 35 MiB -> 9 extents
    assert all(p["bytes"] % EXTENT == 0 for p in planned + odd)


def test_preflight_reports_each_vg_and_creates_nothing():
    vgs = VGS + [{"vg_name": "data", "vg_size": str(100 * MIB), "vg_free": str(8 * MIB),
                  "vg_extent_size": str(EXTENT), "vg_free_count": "2"}]
    lvs = ORIGINS + [dict(lv_row("db", 90 * MIB), vg_name="data")]
    runner = Replay(lvs, vgs)
    snapset = _lvm.SnapshotSet(runner, "up")
    with pytest.raises(_lvm.LvmError) as err:
        snapset.present([{"vg": "os", "lv": "root", "size": "900M"}, {"vg": "os", "lv": "var", "size": "200M"},
                         {"vg": "data", "lv": "db", "size": "12M"}])
    assert "VG os needs 1100.0 MiB, has 1080.0 MiB free (short by 20.0 MiB)" in str(err.value)
    assert "VG data needs 12.0 MiB, has 8.0 MiB free (short by 4.0 MiB)" in str(err.value)
    assert "nothing was created" in str(err.value)
    by_vg = {e["vg"]: e for e in err.value.details["preflight"]}
    assert by_vg["os"]["required_bytes"] == 1100 * MIB and by_vg["os"]["ok"] is False
    assert by_vg["os"]["short_bytes"] == 20 * MIB
    assert by_vg["data"]["short_bytes"] == 4 * MIB
    assert runner.changes() == []


def test_present_creates_tagged_snapshots_with_exact_byte_sizes():
    runner = Replay(ORIGINS)
    result = _lvm.SnapshotSet(runner, "up").present(VOLUMES)
    assert result["changed"] is True
    first = runner.changes()[0]
    assert first[:5] == ["lvcreate", "--yes", "--snapshot", "--size", "%db" % (180 * MIB)]
    assert first[first.index("--addtag") + 1] == "fuel_snapset_up"
    assert "fuel_snapset_up_n3" in first
    assert first[-1] == "os/root"
    assert len(runner.changes()) == 3


def test_check_mode_plans_without_running():
    runner = Replay(ORIGINS)
    result = _lvm.SnapshotSet(runner, "up", check_mode=True).present(VOLUMES)
    assert result["changed"] is True and len(result["commands"]) == 3
    assert runner.changes() == []


def test_complete_set_is_unchanged_and_membership_is_by_tag():
    members = [member("root", 180 * MIB), member("var", 100 * MIB), member("varlog", 108 * MIB)]
    # A snapshot named like a member but without the tag is not a member.
    stranger = lv_row("root_up_snap2", 8 * MIB, "swi-a-s---", "root", "0.00", "other")
    runner = Replay(ORIGINS + members + [stranger])
    result = _lvm.SnapshotSet(runner, "up").present(VOLUMES)
    assert result["changed"] is False and runner.changes() == []
    assert sorted(s["origin"] for s in result["snapshots"]) == ["root", "var", "varlog"]


def test_partial_set_is_completed_with_the_missing_member_only():
    runner = Replay(ORIGINS + [member("root", 180 * MIB), member("var", 100 * MIB)])
    result = _lvm.SnapshotSet(runner, "up").present(VOLUMES)
    assert result["changed"] is True
    assert [c[-1] for c in runner.changes()] == ["os/varlog"]


def test_set_with_other_member_count_is_a_clear_error():
    runner = Replay(ORIGINS + [member("root", 180 * MIB, tags="fuel_snapset_up,fuel_snapset_up_n2")])
    with pytest.raises(_lvm.LvmError, match="created with 2 members, volumes lists 3"):
        _lvm.SnapshotSet(runner, "up").present(VOLUMES)
    assert runner.changes() == []


def test_missing_origin_and_vg_name_the_field():
    runner = Replay(ORIGINS)
    with pytest.raises(_lvm.LvmError, match=r"volumes\[1\]\.lv: logical volume os/nope does not exist"):
        _lvm.SnapshotSet(runner, "up").present([VOLUMES[0], {"vg": "os", "lv": "nope", "size": "1G"}])
    with pytest.raises(_lvm.LvmError, match=r"volumes\[0\]\.vg: volume group 'vg9' does not exist"):
        _lvm.SnapshotSet(runner, "up").present([{"vg": "vg9", "lv": "root", "size": "1G"}])
    with pytest.raises(_lvm.LvmError, match="name: "):
        _lvm.SnapshotSet(runner, "bad name")
    assert runner.changes() == []


def test_list_reports_fill_and_invalid_members():
    members = [member("root", 180 * MIB, fill="12.50"), member("var", 100 * MIB, fill="100.00", attr="swi-I-s---"),
               member("varlog", 108 * MIB, fill="85.00")]
    state = _lvm.SnapshotSet(Replay(ORIGINS + members), "up").status(threshold=80)
    views = {s["origin"]: s for s in state["snapshots"]}
    assert views["root"]["fill_percent"] == 12.5 and views["root"]["valid"] is True
    assert views["var"]["valid"] is False
    assert views["varlog"]["above_threshold"] is True and views["root"]["origin_open"] is True
    assert state["complete"] is True and state["valid"] is False
    assert any("os/var_up_snap (snapshot of var) is invalid" in p for p in state["problems"])
    assert any("85.0% full" in p for p in state["problems"])


def test_revert_refuses_invalid_incomplete_or_empty_sets_and_merges_nothing():
    cases = [
        ([member("root", 180 * MIB), member("var", 100 * MIB, attr="swi-I-s---", fill="100.00"),
          member("varlog", 108 * MIB)], "is invalid"),
        ([member("root", 180 * MIB), member("var", 100 * MIB)], "incomplete: 2 of 3"),
        ([], "has no members"),
    ]
    for members, message in cases:
        runner = Replay(ORIGINS + members)
        with pytest.raises(_lvm.LvmError, match=message) as err:
            _lvm.SnapshotSet(runner, "up").reverted()
        assert "nothing was merged" in str(err.value)
        assert runner.changes() == []


def test_revert_merges_every_member_and_reports_reboot():
    members = [member("root", 180 * MIB), member("var", 100 * MIB), member("varlog", 108 * MIB)]
    runner = Replay(ORIGINS + members)
    result = _lvm.SnapshotSet(runner, "up", check_mode=True).reverted()
    assert runner.changes() == [] and result["reboot_required"] is True
    # the origins are tagged first: after the merge, the tag says the set was merged, not absent
    assert [c[-1] for c in result["commands"]] == [
        "os/root", "os/var", "os/varlog", "os/root_up_snap", "os/var_up_snap", "os/varlog_up_snap"]
    merging = [dict(member(o, 100 * MIB, attr="Swi-a-s---", merging="merging"), lv_name="[%s_up_snap]" % o)
               for o in ("root", "var", "varlog")]
    again = Replay(ORIGINS + merging)
    result = _lvm.SnapshotSet(again, "up").reverted()
    assert result["changed"] is False and result["reboot_required"] is True and again.changes() == []


def test_partial_merge_failure_is_reported_loudly():
    members = [member("root", 180 * MIB), member("var", 100 * MIB), member("varlog", 108 * MIB)]
    runner = Replay(ORIGINS + members, fail={"lvconvert": "boom"})
    with pytest.raises(_lvm.LvmError, match="merge of os/root_up_snap failed"):
        _lvm.SnapshotSet(runner, "up").reverted()
    assert [c[0] for c in runner.changes()] == ["lvchange", "lvchange", "lvchange", "lvconvert"]


def test_absent_removes_every_member_and_is_idempotent():
    members = [member("root", 180 * MIB), member("var", 100 * MIB)]
    runner = Replay(ORIGINS + members)
    result = _lvm.SnapshotSet(runner, "up").absent()
    assert result["changed"] is True
    assert [c[:2] + c[-1:] for c in runner.changes()] == [["lvremove", "--yes", "os/root_up_snap"],
                                                          ["lvremove", "--yes", "os/var_up_snap"]]
    assert _lvm.SnapshotSet(Replay(ORIGINS), "up").absent()["changed"] is False


def test_absent_refuses_while_a_merge_waits_for_reboot():
    runner = Replay(ORIGINS + [member("root", 100 * MIB, attr="Swi-a-s---", merging="merging")])
    with pytest.raises(_lvm.LvmError, match="reboot to complete it"):
        _lvm.SnapshotSet(runner, "up").absent()
    assert [c[0] for c in runner.changes()] == ["dmsetup"]  # read only: the origin's table


class MergingReplay(Replay):
    """The kernel merges root (table snapshot-merge); LVM drops the member after ``polls_needed`` reads
    following ``vgchange --poll y``."""

    def __init__(self, lvs, running=True, polls_needed=2):
        super().__init__(lvs)
        self.running, self.polls_needed, self.polled = running, polls_needed, False

    def __call__(self, argv):
        if argv[0] == "dmsetup":
            self.calls.append(argv)
            target = "snapshot-merge" if self.running else "snapshot-origin"
            return 0, "0 3686400 %s 253:3 253:4\n" % target, ""
        if argv[0] == "vgchange":
            self.polled = True
        if argv[0] == "lvs" and self.polled:
            self.polls_needed -= 1
            if self.polls_needed < 0:
                self.lvs = [lv for lv in self.lvs if not lv["lv_merging"]]
        return super().__call__(argv)


MERGING_ROOT = dict(member("root", 100 * MIB, attr="Swi-a-s---", merging="merging"), lv_name="[root_up_snap]")


def test_absent_polls_a_running_merge_and_waits_for_it():
    runner = MergingReplay(ORIGINS + [MERGING_ROOT])
    naps = []
    result = _lvm.SnapshotSet(runner, "up").absent(merge_timeout=60, sleep=naps.append, clock=lambda: 0)
    assert ["dmsetup", "table", "/dev/mapper/os-root"] in runner.calls
    assert runner.changes() == [["dmsetup", "table", "/dev/mapper/os-root"], ["vgchange", "--poll", "y", "os"]]
    assert result["merges_finished"] == ["os/root_up_snap"] and result["changed"] is True
    assert len(naps) == 3 and result["removed"] == []


def test_absent_gives_up_on_a_merge_that_does_not_finish_and_removes_nothing():
    runner = MergingReplay(ORIGINS + [MERGING_ROOT, member("var", 100 * MIB)], polls_needed=10 ** 6)
    clock = iter(range(0, 1000, 10))
    with pytest.raises(_lvm.LvmError, match=r"merge of os/root_up_snap \(0.01% left\) into its origin is still running after 30 s"):
        _lvm.SnapshotSet(runner, "up").absent(merge_timeout=30, sleep=lambda _s: None, clock=lambda: next(clock))
    assert not [c for c in runner.changes() if c[0] == "lvremove"]


def test_absent_without_a_wait_refuses_a_running_merge_without_polling():
    runner = MergingReplay(ORIGINS + [MERGING_ROOT])
    with pytest.raises(_lvm.LvmError, match=r"os/root_up_snap \(0.01% left\) into its origin is running"):
        _lvm.SnapshotSet(runner, "up").absent(merge_timeout=0)
    assert [c[0] for c in runner.changes()] == ["dmsetup"]


def test_absent_with_a_deferred_merge_asks_for_the_reboot_without_polling():
    runner = MergingReplay(ORIGINS + [MERGING_ROOT], running=False)
    with pytest.raises(_lvm.LvmError, match="reboot to complete it"):
        _lvm.SnapshotSet(runner, "up").absent(merge_timeout=60, sleep=lambda _s: None)
    assert [c[0] for c in runner.changes()] == ["dmsetup"]


def test_dm_path_doubles_hyphens():
    assert _lvm.dm_path("vg-a", "my-lv") == "/dev/mapper/vg--a-my--lv"


def test_report_errors_surface_stderr():
    def runner(argv):
        return 5, "", "  Volume group \"os\" not found"
    with pytest.raises(_lvm.LvmError, match="not found"):
        _lvm.read_lvs(runner)


def test_leftover_after_boot_time_merge_is_reported_and_removed_by_absent():
    # Seen in the VM: a merge finished at boot can leave the COW LV behind as a plain tagged LV.
    leftover = lv_row("varlog_up_snap", 64 * MIB, "-wi-a-----", "", "", "fuel_snapset_up,fuel_snapset_up_n3", "")
    state = _lvm.SnapshotSet(Replay(ORIGINS + [leftover]), "up").status()
    assert state["snapshots"] == [] and state["leftovers"] == ["os/varlog_up_snap"]
    assert any("left behind by a finished merge" in p for p in state["problems"])
    runner = Replay(ORIGINS + [leftover])
    assert _lvm.SnapshotSet(runner, "up").absent()["removed"] == ["os/varlog_up_snap"]
    assert runner.changes() == [["lvremove", "--yes", "os/varlog_up_snap"]]
