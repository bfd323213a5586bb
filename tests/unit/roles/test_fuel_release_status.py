"""fuel-release-status (roles/release_status/files): the status format, the hooks' decisions, the MOTD."""

from __future__ import annotations

import importlib.util
import io
import json
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = importlib.util.spec_from_file_location(
    "fuel_release_status", os.path.join(CHECKOUT, "roles", "release_status", "files", "fuel_release_status.py"))
frs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(frs)

STATUS = {"format": 1, "release": "9.0", "updated": "2026-12-01T02:00:00Z",
          "problem_packages": [{"name": "libfuel-common", "versions": ["1.2-0mos3", "0:1.2-0mos4"],
                                "reason": "breaks <fuel-agent> & co"}],
          "held_back": [{"name": "fuel-agent", "version": "1.0-0mos3", "reason": "waits"}]}


def config(tmp_path, **extra):
    data = dict(frs.DEFAULTS, url="http://127.0.0.1:9/status.json", keyring=str(tmp_path / "k.gpg"),
                cache_dir=str(tmp_path / "cache"), motd_path=str(tmp_path / "motd" / "fuel"))
    data.update(extra)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return str(path), frs.load_config(str(path))


def tree(root):
    result = {}
    for base, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(base, name)
            result[os.path.relpath(path, root)] = (open(path, "rb").read(), os.stat(path).st_mode)
    return result


def test_validate_accepts_the_documented_shape():
    assert frs.validate(STATUS) == STATUS


@pytest.mark.parametrize("change, field", [
    ({"format": 2}, "format"),
    ({"format": True}, "format"),
    ({"release": "9.0\n"}, "release"),
    ({"updated": "yesterday"}, "updated"),
    ({"problem_packages": [{"name": "a b", "versions": ["1"], "reason": "r"}]}, "problem_packages[0].name"),
    ({"problem_packages": [{"name": "a", "versions": [], "reason": "r"}]}, "problem_packages[0].versions"),
    ({"problem_packages": [{"name": "a", "versions": ["1"], "reason": "\x1b[31m"}]}, "problem_packages[0].reason"),
    ({"held_back": [{"name": "a"}]}, "held_back[0]"),
    ({"extra": 1}, "unknown fields"),
])
def test_validate_names_the_field(change, field):
    with pytest.raises(frs.StatusError, match=r".*" + field.replace("[", r"\[").replace("]", r"\]")):
        frs.validate(dict(STATUS, **change))


def test_loads_refuses_duplicates_nan_and_bad_bytes():
    for text in ('{"a": 1, "a": 2}', '{"a": NaN}', b"\xff\xfe"):
        with pytest.raises(frs.StatusError):
            frs.loads(text, "x")


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)


def _containers(inner):
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)


JSONISH = st.recursive(SCALARS, _containers, max_leaves=20)


@settings(max_examples=80, deadline=None)
@given(st.one_of(JSONISH, st.fixed_dictionaries({
    "format": st.sampled_from([1, "1", 2, True]), "release": st.text(max_size=40),
    "updated": st.sampled_from(["2026-12-01T02:00:00Z", "2026-12-01", ""]),
    "problem_packages": st.lists(st.fixed_dictionaries({
        "name": st.text(max_size=30), "versions": st.lists(st.text(max_size=20), max_size=3),
        "reason": st.text(max_size=30)}), max_size=3)})))
@example({"format": 1, "release": "..", "updated": "2026-12-01T02:00:00Z"})
def test_validate_hostile_documents(data):
    try:
        result = frs.validate(data)
    except frs.StatusError as exc:
        assert str(exc).startswith("status")
        return
    assert result["format"] == 1
    for entry in result["problem_packages"]:
        assert frs.NAME_RE.match(entry["name"])


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=300))
def test_hostile_cache_file_counts_as_no_status(tmp_path_factory, content):
    tmp = tmp_path_factory.mktemp("cache")
    _path, conf = config(tmp)
    os.makedirs(conf["cache_dir"], exist_ok=True)
    with open(os.path.join(conf["cache_dir"], "status.json"), "wb") as out:
        out.write(content)
    before = tree(str(tmp))
    assert frs.check_installs(conf, [("libfuel-common", "1.2-0mos3")], out=io.StringIO()) == 0
    assert tree(str(tmp)) == before


def test_parse_pre_install_versions_2_and_3():
    v2 = ["VERSION 2", "APT::Architecture=amd64", "", "libfuel-common 1.2-0mos2 < 1.2-0mos3 /var/cache/a.deb",
          "fuel-agent - < 1.0-0mos3 /var/cache/b.deb", "libfuel-common 1.2-0mos2 < 1.2-0mos3 **CONFIGURE**",
          "old 1.0 > - **REMOVE**"]
    assert frs.parse_pre_install(v2) == [("libfuel-common", "1.2-0mos3"), ("fuel-agent", "1.0-0mos3")]
    v3 = ["VERSION 3", "x=y", "", "libfuel-common 1.2-0mos2 all same < 1.2-0mos3 all same /var/cache/a.deb",
          "gone 1.0 amd64 none > - - none **REMOVE**"]
    assert frs.parse_pre_install(v3) == [("libfuel-common", "1.2-0mos3")]
    assert frs.parse_pre_install(["/var/cache/a.deb"]) == []
    assert frs.parse_pre_install(["VERSION x"]) == []


def test_check_installs_warns_and_refuses_only_when_strict(tmp_path):
    _path, conf = config(tmp_path)
    frs.atomic_write(os.path.join(conf["cache_dir"], "status.json"), json.dumps(STATUS))
    out = io.StringIO()
    assert frs.check_installs(conf, [("libfuel-common", "1.2-0mos3"), ("other", "1")], out=out) == 0
    assert out.getvalue() == ("fuel-release-status: libfuel-common 1.2-0mos3 is flagged by the vendor: "
                              "breaks <fuel-agent> & co\n")
    out = io.StringIO()
    assert frs.check_installs(conf, [("libfuel-common", "1.2-0mos4")], out=out) == 0  # 0: epoch ignored
    assert "1.2-0mos4" in out.getvalue()
    conf["strict"] = True
    assert frs.check_installs(conf, [("libfuel-common", "1.2-0mos3")], out=io.StringIO()) == 1
    assert frs.check_installs(conf, [("libfuel-common", "1.2-0mos2")], out=io.StringIO()) == 0


def test_refresh_unreachable_keeps_quiet_and_says_unknown(tmp_path):
    path, conf = config(tmp_path, timeout=1)
    frs.atomic_write(os.path.join(conf["cache_dir"], "status.json"), json.dumps(STATUS))
    state = frs.refresh(conf)
    assert state["ok"] is False and "127.0.0.1:9" in state["error"]
    motd = open(conf["motd_path"], encoding="utf-8").read()
    assert motd.startswith("Release status: UNKNOWN - the status source is unreachable")
    assert "Last known status (release 9.0" in motd and "FLAGGED libfuel-common 1.2-0mos3" in motd
    assert frs.main(["--config", path, "refresh"]) == 0


def test_hooks_never_fail_on_a_broken_setup(tmp_path, capsys):
    missing = str(tmp_path / "none.json")
    for command in ("apt-check", "apt-post-update", "refresh", "motd", "check"):
        assert frs.main(["--config", missing, command], stdin=io.StringIO("VERSION 3\n\n")) == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"url": 5}')
    assert frs.main(["--config", str(bad), "apt-check"], stdin=io.StringIO("")) == 0
    assert "url has the wrong type" in capsys.readouterr().err


def test_config_rules(tmp_path):
    for extra, message in (({"url": "ftp://x"}, "http"), ({"require_signature": False}, "https"),
                           ({"keyring": ""}, "keyring"), ({"family": "pkg"}, "family"), ({"nope": 1}, "unknown")):
        with pytest.raises(frs.StatusError, match=message):
            config(tmp_path, **extra)


def test_publish_is_idempotent_and_escapes_html(tmp_path):
    spec = tmp_path / "in.json"
    spec.write_text(json.dumps(dict(STATUS, updated="")))
    out = str(tmp_path / "www")
    assert frs.publish(str(spec), out, "") is True
    first = tree(out)
    assert frs.publish(str(spec), out, "") is False
    assert tree(out) == first
    html = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    assert "breaks &lt;fuel-agent&gt; &amp; co" in html and "<fuel-agent>" not in html
    spec.write_text(json.dumps(dict(STATUS, problem_packages=[])))
    assert frs.publish(str(spec), out, "") is True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(STATUS, release="")))
    before = tree(out)
    assert frs.main(["publish", "--input", str(bad), "--out", out]) == 1
    assert tree(out) == before


def test_render_motd_states():
    assert frs.render_motd(None, {}, []).startswith("Release status: UNKNOWN")
    ok = frs.render_motd(STATUS, {"ok": True}, [{"name": "libfuel-common", "version": "1.2-0mos3", "reason": ""}])
    assert "FLAGGED libfuel-common 1.2-0mos3: breaks <fuel-agent> & co [INSTALLED HERE]" in ok
    assert "held back: fuel-agent 1.0-0mos3: waits" in ok
