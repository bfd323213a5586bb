"""Repository sets with priorities: real dnf and APT against the lab's HTTP repositories.

The fixture repositories have the shape of real archives (lab/fixtures.py): the
Release Suite differs from the Codename the sources name, two signing keys,
by-hash indexes. Reruns are judged by the tree digest (bytes and modes) of the
directories the module manages, not by its ``changed``; refusals by the
module's own ``failed``.
"""

from __future__ import annotations

import hashlib
import os
import socket

import pytest

RPM_HOST = "master"
APT_HOST = "ctrl-1"
KEYRING = "/etc/apt/keyrings/fuel-lab.gpg"


@pytest.fixture(scope="module", autouse=True)
def deployed_state_afterwards(lab):
    """Leave the hosts these tests change as deployed, for the tests that follow."""
    yield
    lab.reset(RPM_HOST, APT_HOST)


def play(host, tasks):
    return [{"hosts": host, "gather_facts": False, "tasks": tasks}]


def apply(name, repos, **options):
    return {"name": name, "fuel.lifecycle.repo_priorities": dict(options, repos=repos), "register": "out"}


def rpm_repo(lab, repo, **extra):
    return dict({"type": "rpm", "name": repo, "uri": "%s/rpm/%s/" % (lab.mirror_url, repo),
                 "gpgkey": "%s/keys/RPM-GPG-KEY-fuel-lab" % lab.mirror_url}, **extra)


def deb_repo(lab, repo, suite, **extra):
    return dict({"type": "deb", "name": repo, "uri": "%s/deb/%s" % (lab.mirror_url, repo), "suite": suite,
                 "section": "main", "signed_by": KEYRING}, **extra)


def tree_digest(lab, host, *dirs):
    """Every file (path, mode, content) under the given directories of a node."""
    digest = hashlib.sha256()
    for directory in dirs:
        top = os.path.join(lab.root(host), directory.lstrip("/"))
        for base, subdirs, files in os.walk(top):
            subdirs.sort()
            for name in sorted(files):
                path = os.path.join(base, name)
                digest.update(("%s %o\n" % (os.path.relpath(path, top), os.lstat(path).st_mode)).encode())
                if os.path.islink(path):
                    digest.update(os.readlink(path).encode())
                    continue
                with open(path, "rb") as handle:
                    digest.update(handle.read())
    return digest.hexdigest()


def dnf_sync(lab):
    """dnf picks the version the priorities allow (installs it for real) and reports it."""
    lab.node_run(RPM_HOST, ["dnf", "-y", "-q", "--setopt=metadata_expire=0", "distro-sync", "libfuel-common"])
    return lab.node_run(RPM_HOST, ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "libfuel-common"]).stdout


def test_rpm_priorities_flip_dnf_choice(lab):
    lab.reset(RPM_HOST)
    # The local repository of a master installed from ISO, as its installer writes it.
    nailgun_before = "[nailgun]\nname=Local ISO repository\nbaseurl=file:///var/www/nailgun/x86_64\ngpgcheck=0\n"
    with open(os.path.join(lab.root(RPM_HOST), "etc/yum.repos.d/nailgun.repo"), "w", encoding="utf-8") as handle:
        handle.write(nailgun_before)
    vendor, upstream = rpm_repo(lab, "vendor", **{"class": "vendor"}), rpm_repo(lab, "upstream", **{"class": "upstream"})

    # Same priority for both: dnf takes the newest version, upstream's. Exclusive: the rest is disabled.
    equal = [dict(vendor, priority=99), dict(upstream, priority=99)]
    options = {"exclusive": True, "backup_dir": "/etc/yum.repos.d.nailgun"}
    before = tree_digest(lab, RPM_HOST, "/etc/yum.repos.d")
    run = lab.playbook(play(RPM_HOST, [dict(apply("dry", equal, **options), check_mode=True, diff=True)]))
    assert run.rc == 0, run
    dry = run.task("dry", RPM_HOST)[0]["result"]
    assert dry["changed"] is True and sorted(dry["disabled"]) == ["fuel-lab-mu1", "fuel-lab-vendor", "nailgun"]
    nailgun_diff = [d for d in dry["diff"] if d["after_header"].endswith("/nailgun.repo")][0]
    assert nailgun_diff["before"] == nailgun_before and nailgun_diff["after"] == nailgun_before + "enabled=0\n"
    assert tree_digest(lab, RPM_HOST, "/etc/yum.repos.d") == before  # check mode: not a byte changed
    assert not os.path.exists(os.path.join(lab.root(RPM_HOST), "etc/yum.repos.d.nailgun"))  # and no copy made
    run = lab.playbook(play(RPM_HOST, [apply("flat", equal, **options)]))
    assert run.rc == 0, run
    result = run.task("flat", RPM_HOST)[0]["result"]
    assert sorted(result["disabled"]) == ["fuel-lab-mu1", "fuel-lab-vendor", "nailgun"]
    assert result["backup_dir"] == "/etc/yum.repos.d.nailgun"
    nailgun = lab.read(RPM_HOST, "/etc/yum.repos.d/nailgun.repo")
    assert "enabled=0" in nailgun and nailgun.replace("enabled=0\n", "") == nailgun_before
    assert lab.read(RPM_HOST, "/etc/yum.repos.d.nailgun/nailgun.repo") == nailgun_before
    assert dnf_sync(lab) == "1.3-1"

    # Presets: vendor 50 beats the newer upstream 70. Check mode first: nothing changes, diff shown.
    presets = [vendor, upstream]
    before = tree_digest(lab, RPM_HOST, "/etc/yum.repos.d")
    run = lab.playbook(play(RPM_HOST, [dict(apply("preview", presets, **options), check_mode=True, diff=True)]))
    assert run.rc == 0, run
    preview = run.task("preview", RPM_HOST)[0]["result"]
    assert preview["changed"] is True
    assert tree_digest(lab, RPM_HOST, "/etc/yum.repos.d") == before
    after_texts = "".join(d["after"] for d in preview["diff"])
    assert "priority=50" in after_texts and "priority=70" in after_texts
    run = lab.playbook(play(RPM_HOST, [apply("apply", presets, **options)]))
    assert run.rc == 0, run
    assert run.task("apply", RPM_HOST)[0]["result"]["changed"] is True
    applied = tree_digest(lab, RPM_HOST, "/etc/yum.repos.d")
    assert applied != before
    run = lab.playbook(play(RPM_HOST, [apply("again", presets, **options)]))
    assert run.rc == 0, run
    assert tree_digest(lab, RPM_HOST, "/etc/yum.repos.d") == applied  # the rerun wrote no byte, no mode
    assert run.task("again", RPM_HOST)[0]["result"]["changed"] is False
    mode = os.stat(os.path.join(lab.root(RPM_HOST), "etc/yum.repos.d/vendor.repo")).st_mode & 0o777
    assert mode == 0o644
    assert dnf_sync(lab) == "1.2-0mos1"

    # Holdback 30 beats both, and forces the older version.
    run = lab.playbook(play(RPM_HOST, [apply("holdback", presets + [rpm_repo(lab, "holdback", **{"class": "holdback"})])]))
    assert run.rc == 0, run
    assert "priority=30" in lab.read(RPM_HOST, "/etc/yum.repos.d/holdback.repo")
    assert dnf_sync(lab) == "1.1-0mos1"
    # The nailgun repository stayed disabled and on disk throughout.
    assert "enabled=0" in lab.read(RPM_HOST, "/etc/yum.repos.d/nailgun.repo")


def test_rpm_edits_foreign_file_in_place_with_credentials(lab):
    lab.reset(RPM_HOST)
    # No URI: the entry edits the deployed repository in place, whatever its URL.
    mu1 = {"type": "rpm", "name": "fuel-lab-mu1", "priority": 20, "username": "mirror", "password": "s3cret-Pass"}
    run = lab.playbook(play(RPM_HOST, [dict(apply("edit", [mu1]), diff=True)]))
    assert run.rc == 0, run
    text = lab.read(RPM_HOST, "/etc/yum.repos.d/fuel-lab-mu1.repo")
    assert text.startswith("[fuel-lab-mu1]\nname=Maintenance update 1\nbaseurl=%s/rpm/mu1/\n" % lab.mirror_url)
    assert "priority=20" in text
    assert "password=s3cret-Pass" in text
    assert os.stat(os.path.join(lab.root(RPM_HOST), "etc/yum.repos.d/fuel-lab-mu1.repo")).st_mode & 0o777 == 0o600
    assert "s3cret-Pass" not in run.output
    assert not os.path.exists(os.path.join(lab.root(RPM_HOST), "etc/yum.repos.d/fuel-lab-mu1.repo.repo"))
    # dnf itself reads the edited section: priority and credentials.
    seen = lab.node_run(RPM_HOST, ["python3", "-c", "import dnf; b = dnf.Base(); b.conf.substitutions['releasever'] = '12'; "
                                   "b.read_all_repos(); "
                                   "r = b.repos['fuel-lab-mu1']; print(r.priority, r.username, r.enabled)"]).stdout
    assert seen.split() == ["20", "mirror", "True"]


def apt_candidate(lab):
    lab.node_run(APT_HOST, ["apt-get", "update", "-q"])
    return lab.node_run(APT_HOST, ["apt-cache", "policy", "libfuel-common"]).stdout


def candidate_of(policy):
    return [line.split(":", 1)[1].strip() for line in policy.splitlines() if "Candidate:" in line][0]


def test_apt_pins_flip_candidate(lab):
    lab.reset(APT_HOST)
    vendor = deb_repo(lab, "vendor", "mos9.0", **{"class": "vendor"})
    mu1 = deb_repo(lab, "mu1", "mos9.0-mu1", **{"class": "vendor"})
    upstream = deb_repo(lab, "upstream", "upstream", format="deb822", **{"class": "upstream"})
    holdback = deb_repo(lab, "holdback", "mos9.0-holdback", **{"class": "holdback"})

    run = lab.playbook(play(APT_HOST, [apply("nopins", [vendor, mu1, upstream], apt_pins={"vendor": None})]))
    assert run.rc == 0, run
    assert "deb/vendor" in "".join(run.task("nopins", APT_HOST)[0]["result"]["disabled"])
    assert candidate_of(apt_candidate(lab)) == "1.3-1"

    apt_dirs = ("/etc/apt/sources.list.d", "/etc/apt/preferences.d")
    run = lab.playbook(play(APT_HOST, [apply("pins", [vendor, mu1, upstream])]))
    assert run.rc == 0, run
    applied = tree_digest(lab, APT_HOST, *apt_dirs)
    run = lab.playbook(play(APT_HOST, [apply("again", [vendor, mu1, upstream])]))
    assert run.rc == 0, run
    assert tree_digest(lab, APT_HOST, *apt_dirs) == applied  # the rerun wrote no byte, no mode
    assert run.task("again", APT_HOST)[0]["result"]["changed"] is False
    # The pins select by codename: the fixture Release files have another Suite.
    assert "Pin: release n=mos9.0-mu1\n" in lab.read(APT_HOST, "/etc/apt/preferences.d/mu1.pref")
    policy = apt_candidate(lab)
    assert candidate_of(policy) == "1.2-0mos2", policy
    assert " 1050 %s/deb/mu1 mos9.0-mu1/main" % lab.mirror_url in policy
    assert " 500 %s/deb/upstream upstream/main" % lab.mirror_url in policy
    # apt-get sees no duplicate source: the deployed fuel-lab.list line for vendor was commented out.
    update = lab.node_run(APT_HOST, ["apt-get", "update"])
    assert "configured multiple times" not in update.stderr and "W:" not in update.stderr, update.stderr
    assert lab.read(APT_HOST, "/etc/apt/sources.list.d/upstream.sources").count("Types: deb\n") == 1

    run = lab.playbook(play(APT_HOST, [apply("holdback", [vendor, mu1, upstream, holdback])]))
    assert run.rc == 0, run
    policy = apt_candidate(lab)
    assert candidate_of(policy) == "1.1-0mos1", policy
    assert " 1200 %s/deb/holdback mos9.0-holdback/main" % lab.mirror_url in policy
    lab.node_run(APT_HOST, ["apt-get", "install", "-y", "-q", "--allow-downgrades", "libfuel-common"])
    installed = lab.node_run(APT_HOST, ["dpkg-query", "-W", "-f", "${Version}", "libfuel-common"]).stdout
    assert installed == "1.1-0mos1"


MALFORMED = [
    ("unknown type", [{"type": "yum", "name": "a", "uri": "http://h/"}], "field 'type'"),
    ("malformed uri", [{"type": "rpm", "name": "a", "uri": "http//h/rpm"}], "field 'uri'"),
    ("uri without host", [{"type": "rpm", "name": "a", "uri": "http:///rpm"}], "has no host"),
    ("malformed deb line", [{"name": "a", "line": "deb http://h/deb"}], "field 'line'"),
    ("duplicate names", [{"type": "rpm", "name": "a", "uri": "http://h/1"},
                         {"type": "rpm", "name": "a", "uri": "http://h/2"}], "duplicate name"),
    ("yum priority 0", [{"type": "rpm", "name": "a", "uri": "http://h/", "priority": 0}], "outside 1-99"),
    ("yum priority 150", [{"type": "rpm", "name": "a", "uri": "http://h/", "priority": 150}], "outside 1-99"),
    ("pin not an integer", [{"type": "deb", "name": "a", "uri": "http://h/", "suite": "s", "section": "main",
                             "priority": "high"}], "is not an integer"),
    ("rpm with suite", [{"type": "rpm", "name": "a", "uri": "http://h/", "suite": "mos9.0"}], "field 'suite'"),
    ("missing keyring", [{"type": "deb", "name": "a", "uri": "http://h/", "suite": "s", "section": "main",
                          "signed_by": "/etc/apt/keyrings/absent.gpg"}], "field 'signed_by'"),
    ("unknown class", [{"type": "rpm", "name": "a", "uri": "http://h/", "class": "vendr"}], "field 'class'"),
    ("deb without section", [{"type": "deb", "name": "a", "uri": "http://h/", "suite": "s"}], "field 'section'"),
    ("bad apt file name", [{"type": "deb", "name": "my repo", "uri": "http://h/", "suite": "s",
                            "section": "main"}], "field 'name'"),
    ("edit of an absent repo", [{"type": "rpm", "name": "absent", "priority": 20}], "no repository absent"),
    ("ambiguous pins", [{"type": "deb", "name": "a", "uri": "http://h/a", "suite": "s", "section": "main",
                         "class": "vendor"},
                        {"type": "deb", "name": "b", "uri": "http://h/b", "suite": "s", "section": "main",
                         "class": "holdback"}], "field 'pin'"),
]


@pytest.mark.parametrize("host", [RPM_HOST, APT_HOST])
def test_malformed_sets_rejected_nothing_written(lab, host):
    lab.reset(host)
    dirs = ("/etc/yum.repos.d", "/etc/apt/sources.list.d", "/etc/apt/preferences.d")
    # A valid entry first in every set: it would be written if validation came late.
    good = rpm_repo(lab, "good") if host == RPM_HOST else deb_repo(lab, "good", "mos9.0")
    manager = "rpm" if host == RPM_HOST else "apt"
    # Keyrings are looked for only where deb entries apply, existing repo ids only where rpm ones do.
    host_only = {"missing keyring": APT_HOST, "edit of an absent repo": RPM_HOST}
    cases = [case for case in MALFORMED if host_only.get(case[0], host) == host]
    # ignore_errors keeps the module's own verdict (failed: true) in the result and runs every case.
    tasks = [dict(apply(name, [good] + repos, exclusive=True, package_manager=manager), ignore_errors=True)
             for name, repos, _expected in cases]
    before = tree_digest(lab, host, *dirs)
    run = lab.playbook(play(host, tasks))
    assert run.rc == 0, run
    assert len(cases) >= 8
    for name, _repos, expected in cases:
        task = run.task(name, host)[0]
        result = task["result"]
        # "ignored": Ansible called this task failed (the module's own fail_json), ignore_errors went on.
        assert task["status"] == "ignored" and not result.get("changed"), (name, task)
        assert expected in result.get("msg", ""), (name, result.get("msg"))
    assert tree_digest(lab, host, *dirs) == before


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_task(name, repos, packages, **options):
    return {"name": name, "fuel.lifecycle.repo_check": dict(options, repos=repos, packages=packages)}


def test_repo_check_names_unreachable_repo_and_missing_package(lab):
    dead = "http://127.0.0.1:%d" % closed_port()
    rpm_set = [rpm_repo(lab, "vendor"), rpm_repo(lab, "upstream"), rpm_repo(lab, "holdback"),
               dict(rpm_repo(lab, "dead"), uri=dead + "/rpm/")]
    deb_set = [deb_repo(lab, "vendor", "mos9.0"), deb_repo(lab, "holdback", "mos9.0-holdback"),
               deb_repo(lab, "upstream", "upstream"),
               dict(deb_repo(lab, "mu1", "mos9.0-mu1", section="universe"), name="wrong-section"),
               dict(deb_repo(lab, "dead", "mos9.0"), uri=dead + "/deb")]
    wanted = ["fuel-agent", "libfuel-common >= 1.3", "libfuel-common << 1.2", "fuel-nonexistent"]
    run = lab.playbook([
        {"hosts": RPM_HOST, "gather_facts": False, "tasks": [check_task("rpm check", rpm_set, wanted, timeout=3)]},
        {"hosts": APT_HOST, "gather_facts": False, "tasks": [
            check_task("deb check", deb_set, wanted, timeout=3),
            dict(check_task("strict", deb_set[:1], ["fuel-nonexistent"], fail_on_problem=True), ignore_errors=True),
        ]},
    ])
    assert run.rc == 0, run
    for task, host in (("rpm check", RPM_HOST), ("deb check", APT_HOST)):
        result = run.task(task, host)[0]["result"]
        assert result["changed"] is False
        assert result["unreachable_repos"] == ["dead"], result
        assert result["missing_packages"] == ["fuel-nonexistent"], result
        by_name = {r["name"]: r for r in result["repos"]}
        assert by_name["vendor"]["reachable"] and by_name["vendor"]["signature"] == "valid", by_name["vendor"]
        assert "Connection refused" in " ".join(by_name["dead"]["problems"]), by_name["dead"]
        found = {p["requirement"]: p for p in result["packages"]}
        assert [f["version"] for f in found["libfuel-common << 1.2"]["found"]] == ["1.1-0mos1"]
    deb = run.task("deb check", APT_HOST)[0]["result"]
    assert deb["invalid_repos"] == ["wrong-section"]
    assert "section universe" in " ".join({r["name"]: r for r in deb["repos"]}["wrong-section"]["problems"])
    rpm = run.task("rpm check", RPM_HOST)[0]["result"]
    assert [f["repo"] for f in {p["requirement"]: p for p in rpm["packages"]}["libfuel-common >= 1.3"]["found"]] \
        == ["upstream"]
    strict = run.task("strict", APT_HOST)[0]
    assert strict["status"] == "ignored", strict  # failed, by the module itself
    assert "missing packages: fuel-nonexistent (no repository of the set has fuel-nonexistent)" in \
        strict["result"]["msg"]


def test_repos_role_playbook_mixed_set_two_hosts(lab):
    lab.reset(RPM_HOST, APT_HOST)
    hosts = "%s,%s" % (RPM_HOST, APT_HOST)
    variables = {
        "fuel_repos_hosts": hosts,
        "repos_list": [dict(rpm_repo(lab, "vendor", **{"class": "vendor"}), name="fuel-lab-vendor"),
                       rpm_repo(lab, "upstream", **{"class": "upstream"}),
                       deb_repo(lab, "vendor", "mos9.0", **{"class": "vendor"}),
                       deb_repo(lab, "upstream", "upstream", **{"class": "upstream"})],
        "repos_holdback": [rpm_repo(lab, "holdback"), deb_repo(lab, "holdback", "mos9.0-holdback")],
        "repos_exclusive": True,
        "repos_backup_dir": "/etc/yum.repos.d.nailgun",
        "repos_check_packages": ["libfuel-common >= 1.1", "fuel-agent"],
    }
    apt_dirs = ("/etc/apt/sources.list.d", "/etc/apt/preferences.d")
    before = {RPM_HOST: tree_digest(lab, RPM_HOST, "/etc/yum.repos.d"), APT_HOST: tree_digest(lab, APT_HOST, *apt_dirs)}
    preview = lab.playbook("playbooks/repos.yml", extra_vars=variables, check=True, diff=True)
    assert preview.rc == 0, preview
    assert preview.changed_hosts() == [APT_HOST, RPM_HOST]
    assert "+Pin-Priority: 1200" in preview.output and "+priority=30" in preview.output
    assert before == {RPM_HOST: tree_digest(lab, RPM_HOST, "/etc/yum.repos.d"),
                      APT_HOST: tree_digest(lab, APT_HOST, *apt_dirs)}

    run = lab.playbook("playbooks/repos.yml", extra_vars=variables)
    assert run.rc == 0, run
    assert run.changed_hosts() == [APT_HOST, RPM_HOST]
    vendor = lab.read(RPM_HOST, "/etc/yum.repos.d/fuel-lab-vendor.repo")
    assert "name=Vendor packages" in vendor and "priority=50" in vendor
    assert "priority=30" in lab.read(RPM_HOST, "/etc/yum.repos.d/holdback.repo")
    assert "enabled=0" in lab.read(RPM_HOST, "/etc/yum.repos.d/fuel-lab-mu1.repo")
    assert os.path.isfile(os.path.join(lab.root(RPM_HOST), "etc/yum.repos.d.nailgun/fuel-lab-mu1.repo"))
    # The role refreshed the APT lists itself: the pins are in force without a manual update.
    policy = lab.node_run(APT_HOST, ["apt-cache", "policy", "libfuel-common"]).stdout
    assert candidate_of(policy) == "1.1-0mos1", policy
    assert not os.path.exists(os.path.join(lab.root(APT_HOST), "etc/yum.repos.d/holdback.repo"))
    assert dnf_sync(lab) == "1.1-0mos1"

    applied = {RPM_HOST: tree_digest(lab, RPM_HOST, "/etc/yum.repos.d"), APT_HOST: tree_digest(lab, APT_HOST, *apt_dirs)}
    again = lab.playbook("playbooks/repos.yml", extra_vars=variables)
    assert again.rc == 0, again
    assert applied == {RPM_HOST: tree_digest(lab, RPM_HOST, "/etc/yum.repos.d"),
                       APT_HOST: tree_digest(lab, APT_HOST, *apt_dirs)}
    assert again.changed_hosts() == []

    # A set naming a package no repository has stops before anything changes.
    before = tree_digest(lab, APT_HOST, "/etc/apt/sources.list.d", "/etc/apt/preferences.d")
    broken = dict(variables, repos_check_packages=["fuel-missing"], repos_exclusive=False,
                  repos_list=variables["repos_list"][2:3])
    failed = lab.playbook("playbooks/repos.yml", extra_vars=broken, limit=APT_HOST)
    assert failed.rc != 0
    assert "missing packages: fuel-missing" in failed.task("Repos | Check", APT_HOST)[0]["result"]["msg"]
    assert tree_digest(lab, APT_HOST, "/etc/apt/sources.list.d", "/etc/apt/preferences.d") == before


def test_repo_check_real_archive_shape(lab):
    """Two signing keys, one-key keyrings (binary and armoured), by-hash, pins against Suite != Codename."""
    lab.reset(APT_HOST)
    keyrings = os.path.join(lab.root(APT_HOST), "etc/apt/keyrings")
    for name in ("fuel-lab-a.gpg", "fuel-lab-b.asc"):
        with open(os.path.join(lab.state["www"], "keys", name), "rb") as src, \
                open(os.path.join(keyrings, name), "wb") as dst:
            dst.write(src.read())
    one_key = deb_repo(lab, "vendor", "mos9.0", signed_by="/etc/apt/keyrings/fuel-lab-a.gpg")
    armoured = dict(deb_repo(lab, "mu1", "mos9.0-mu1", signed_by="/etc/apt/keyrings/fuel-lab-b.asc"))
    by_suite = deb_repo(lab, "holdback", "mos9.0-holdback", pin="release a=mos9.0-holdback", **{"class": "holdback"})
    by_codename = deb_repo(lab, "upstream", "upstream", **{"class": "vendor"})
    run = lab.playbook(play(APT_HOST, [check_task("shape", [one_key, armoured, by_suite, by_codename],
                                                  ["libfuel-common = 1.2-0mos2"])]))
    assert run.rc == 0, run
    result = run.task("shape", APT_HOST)[0]["result"]
    by_name = {r["name"]: r for r in result["repos"]}
    assert by_name["vendor"]["signature"] == "valid" and by_name["mu1"]["signature"] == "valid", by_name
    assert by_name["vendor"]["release"] == {"origin": "fuel-lab", "label": "Vendor packages", "suite": "stable",
                                            "codename": "mos9.0"}
    # a= is the Release Suite (stable-holdback here), not the name the sources carry: reported.
    assert result["invalid_repos"] == ["holdback"], result
    assert "does not match this repository's Release" in " ".join(by_name["holdback"]["problems"])
    assert by_name["upstream"]["pin"] == "release n=upstream" and not by_name["upstream"]["problems"]
    assert [f["repo"] for f in result["packages"][0]["found"]] == ["mu1"]
    # APT agrees with the verdicts: the same one-key keyring is accepted by apt-get update itself.
    run = lab.playbook(play(APT_HOST, [apply("one key", [dict(one_key, **{"class": "vendor"})])]))
    assert run.rc == 0, run
    update = lab.node_run(APT_HOST, ["apt-get", "update"])
    assert "W:" not in update.stderr and "E:" not in update.stderr, update.stderr
    policy = lab.node_run(APT_HOST, ["apt-cache", "policy"]).stdout
    assert "1050 %s/deb/vendor mos9.0/main" % lab.mirror_url in policy, policy
