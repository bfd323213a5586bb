"""fuel-mirror (roles/mirror/files): configuration, index parsing, verification, retention, switching."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = importlib.util.spec_from_file_location(
    "fuel_mirror", os.path.join(CHECKOUT, "roles", "mirror", "files", "fuel_mirror.py"))
fm = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(fm)

GOOD = {"root": "/srv/m", "gpg_key": "ABCDEF", "apt": [{"name": "vendor", "url": "http://h/deb/vendor",
                                                       "distribution": "mos9.0", "keyring": "/k.gpg"}],
        "rpm": [{"name": "vendor", "url": "https://h/rpm/vendor", "packages": ["fuel-agent"], "gpgkey": "/k.asc"}],
        "mu_url": "http://h", "mu_releases": ["9.0"], "retention": "3"}


def write_config(tmp_path, data):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, bytes) else "")
    return str(path)


def test_config_defaults_and_types(tmp_path):
    config = fm.load_config(write_config(tmp_path, GOOD))
    assert config["retention"] == 3 and config["apt"][0]["components"] == ["main"]
    assert config["apt"][0]["architectures"] == ["amd64"] and config["mu"] == [{"url": "http://h", "release": "9.0"}]
    assert fm.apt_filter(dict(config["apt"][0], packages=["a", "b"])) == "Name (= a) | Name (= b)"


@pytest.mark.parametrize("change, message", [
    ({"root": "relative"}, "root"),
    ({"gpg_key": ""}, "gpg_key"),
    ({"retention": 0}, "retention"),
    ({"proxy": "socks://x y"}, "proxy"),
    ({"apt": [{"name": "../x", "url": "http://h", "distribution": "d"}]}, r"apt\[0\].name"),
    ({"apt": [{"name": "a", "url": "http://h; rm -rf /", "distribution": "d"}]}, r"apt\[0\].url"),
    ({"apt": [{"name": "a", "url": "http://h", "distribution": "d", "components": ["-x"]}]}, "components"),
    ({"apt": [], "rpm": []}, "no apt and no rpm"),
    ({"mu_releases": ["../9.0"]}, "mu_releases"),
])
def test_config_refusals_name_the_field(tmp_path, change, message):
    with pytest.raises(fm.MirrorError, match=message):
        fm.load_config(write_config(tmp_path, dict(GOOD, **change)))


VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30), st.lists(st.text(max_size=10),
                                                                                           max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(GOOD) + ["proxy", "bandwidth_kib", "timeout"]), VALUES, max_size=8),
       st.lists(st.dictionaries(st.sampled_from(["name", "url", "distribution", "components", "packages",
                                                 "architectures", "keyring", "gpgkey"]), VALUES), max_size=2))
@example({"retention": True}, [])
def test_config_hostile(tmp_path_factory, overrides, repos):
    data = dict(GOOD, **overrides)
    data["apt"] = repos
    path = write_config(tmp_path_factory.mktemp("c"), data)
    try:
        config = fm.load_config(path)
    except fm.MirrorError:
        return
    for repo in config["apt"]:
        assert fm.NAME_RE.match(repo["name"]) and fm.URL_RE.match(repo["url"])


def test_config_file_problems(tmp_path):
    for content in (b"\xff", b"[1]", b"{", b""):
        path = tmp_path / "c.json"
        path.write_bytes(content)
        with pytest.raises(fm.MirrorError, match="c.json"):
            fm.load_config(str(path))
    with pytest.raises(fm.MirrorError, match="cannot be read"):
        fm.load_config(str(tmp_path))


def test_retention_keeps_newest_and_current():
    names = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z", "20260104T000000Z"]
    assert fm.retention_plan(names, names[-1], 2) == names[:2]
    assert fm.retention_plan(names, names[0], 2) == names[1:2]
    assert fm.retention_plan(names, None, 10) == []


def test_parse_release_and_packages():
    release = "Origin: x\nSHA256:\n abc 10 main/binary-amd64/Packages\n def 5 main/binary-amd64/Packages.gz\nMD5Sum:\n" \
              " 111 10 main/binary-amd64/Packages\n"
    assert fm.parse_release(release) == {"main/binary-amd64/Packages": (10, "abc"),
                                         "main/binary-amd64/Packages.gz": (5, "def")}
    packages = "Package: a\nFilename: pool/a.deb\nSize: 3\nSHA256: ff\nDescription: x\n more\n\nPackage: b\n" \
               "Filename: pool/b.deb\nSize: 4\nSHA256: ee\n"
    assert fm.parse_packages(packages) == [("pool/a.deb", 3, "ff"), ("pool/b.deb", 4, "ee")]
    with pytest.raises(fm.MirrorError, match="lacks"):
        fm.parse_packages("Package: a\nFilename: pool/a.deb\n")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
@example("Package: a\nFilename: ../../etc/passwd\nSize: 1\nSHA256: x\n")
def test_parse_packages_hostile(text):
    try:
        entries = fm.parse_packages(text)
    except fm.MirrorError:
        return
    for filename, size, _sha in entries:
        assert filename and size >= 0


class FakeTools:
    def __init__(self, fail=()):
        self.calls, self.fail = [], fail

    def run(self, argv, what, cwd=None):
        self.calls.append(argv)
        if argv[0] in self.fail:
            raise fm.MirrorError("%s: %s exited 1" % (what, argv[0]))
        return ""


def make_apt_tree(top, corrupt=False):
    deb = b"debian package"
    os.makedirs(os.path.join(top, "pool", "main"))
    with open(os.path.join(top, "pool", "main", "a.deb"), "wb") as out:
        out.write(deb[:-1] if corrupt else deb)
    packages = "Package: a\nFilename: pool/main/a.deb\nSize: %d\nSHA256: %s\n" % (
        len(deb), hashlib.sha256(deb).hexdigest())
    dists = os.path.join(top, "dists", "d")
    os.makedirs(os.path.join(dists, "main", "binary-amd64"))
    with open(os.path.join(dists, "main", "binary-amd64", "Packages"), "w") as out:
        out.write(packages)
    release = "SHA256:\n %s %d main/binary-amd64/Packages\n %s 9 main/binary-amd64/Packages.gz\n" % (
        hashlib.sha256(packages.encode()).hexdigest(), len(packages), "0" * 64)
    for name in ("Release", "InRelease", "Release.gpg"):
        with open(os.path.join(dists, name), "w") as out:
            out.write(release)


def test_verify_apt_checks_signatures_indexes_and_packages(tmp_path):
    repo = {"name": "r", "distribution": "d", "components": ["main"], "architectures": ["amd64"]}
    make_apt_tree(str(tmp_path / "good"))
    tools = FakeTools()
    assert fm.verify_apt(tools, "/k.gpg", str(tmp_path / "good"), repo) == (1, 14)
    assert [call[0] for call in tools.calls] == ["gpgv", "gpgv"]
    make_apt_tree(str(tmp_path / "bad"), corrupt=True)
    with pytest.raises(fm.MirrorError, match="pool/main/a.deb is missing or does not match"):
        fm.verify_apt(FakeTools(), "/k.gpg", str(tmp_path / "bad"), repo)
    with pytest.raises(fm.MirrorError, match="exited"):
        fm.verify_apt(FakeTools(fail=("gpgv",)), "/k.gpg", str(tmp_path / "good"), repo)
    with pytest.raises(fm.MirrorError, match="does not list main/binary-i386"):
        fm.verify_apt(FakeTools(), "/k.gpg", str(tmp_path / "good"), dict(repo, architectures=["i386"]))


def test_verify_rpm_checks_metadata_and_packages(tmp_path):
    top = tmp_path / "rpm"
    (top / "repodata").mkdir(parents=True)
    rpm = b"rpm payload"
    (top / "a.rpm").write_bytes(rpm)
    primary = ('<metadata xmlns="http://linux.duke.edu/metadata/common"><package><location href="a.rpm"/>'
               '<checksum type="sha256">%s</checksum><size package="%d"/></package></metadata>'
               % (hashlib.sha256(rpm).hexdigest(), len(rpm))).encode()
    (top / "repodata" / "primary.xml.gz").write_bytes(gzip.compress(primary))
    repomd = ('<repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="primary"><location '
              'href="repodata/primary.xml.gz"/><checksum type="sha256">%s</checksum></data></repomd>'
              % hashlib.sha256((top / "repodata" / "primary.xml.gz").read_bytes()).hexdigest())
    (top / "repodata" / "repomd.xml").write_text(repomd)
    (top / "repodata" / "repomd.xml.asc").write_text("sig")
    assert fm.verify_rpm(FakeTools(), "/k", str(top), {"name": "v"}) == (1, len(rpm))
    (top / "a.rpm").write_bytes(b"other")
    with pytest.raises(fm.MirrorError, match="a.rpm is missing or does not match"):
        fm.verify_rpm(FakeTools(), "/k", str(top), {"name": "v"})
    (top / "repodata" / "primary.xml.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(fm.MirrorError, match="primary.xml.gz is missing or does not match"):
        fm.verify_rpm(FakeTools(), "/k", str(top), {"name": "v"})


def test_switch_current_and_listing(tmp_path):
    config = fm.load_config(write_config(tmp_path, dict(GOOD, root=str(tmp_path / "m"))))
    for name in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        os.makedirs(tmp_path / "m" / "www" / "snapshots" / name)
        if name != "20260103T000000Z":
            (tmp_path / "m" / "www" / "snapshots" / name / fm.COMPLETE).write_text("{}")
    fm.switch_current(config, "20260102T000000Z")
    assert os.readlink(str(tmp_path / "m" / "www" / "current")) == "snapshots/20260102T000000Z"
    listing = fm.cmd_list(config)
    assert listing["current"] == "20260102T000000Z"
    assert listing["snapshots"] == ["20260101T000000Z", "20260102T000000Z"]
    assert listing["incomplete"] == ["20260103T000000Z"]


def test_lock_refuses_a_second_run(tmp_path):
    lock = str(tmp_path / "state" / "lock")
    with fm.RunLock(lock):
        with pytest.raises(fm.LockHeld):
            with fm.RunLock(lock):
                pass
    with fm.RunLock(lock):
        pass


def test_main_reports_bad_config_as_json(tmp_path, capsys):
    assert fm.main(["--config", str(tmp_path / "none.json"), "list"]) == fm.EXIT_USAGE
    assert "cannot be read" in json.loads(capsys.readouterr().out)["errors"][0]
