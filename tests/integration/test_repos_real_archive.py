"""The repository modules against the real Debian archive this host's own apt sources name.

The sources are read from /etc/apt at run time (never written into the code):
every enabled one-line or deb822 ``deb`` source over http(s) whose Release says
``Origin: Debian``. Then, on scratch directories only:

1. ``repo_check`` on them: reachable, signed (the host keyring, and without
   ``signed_by`` the armoured keyrings of /etc/apt/trusted.gpg.d), a package
   resolved from an index verified against the signed hashes;
2. ``repo_priorities`` writes the sources and the default class pins
   (upstream / vendor / holdback = 500 / 1050 / 1200) into scratch dirs;
3. a real ``apt-get update`` + ``apt-cache policy`` with ``Dir::Etc`` and
   ``Dir::State`` pointing at those dirs proves the priorities APT applies;
   the pins this collection wrote before (``release a=<suite>``) are run the
   same way for the before/after record (build/real-archive-policy.txt).

An unreachable archive fails the test with a message saying so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from labfixture import CALLBACKS, REPO, PlaybookRun

CLASSES = ["upstream", "vendor", "holdback"]
EXPECTED = {"upstream": 500, "vendor": 1050, "holdback": 1200}


def host_debian_sources():
    sys.path.insert(0, os.path.join(REPO, "build", "collections"))
    from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_files as rf  # pylint: disable=import-outside-toplevel

    repos, _pins = rf.read_host_repositories("/")
    found = []
    for repo in repos:
        if repo["type"] == "deb" and repo["enabled"] and repo["uri"].startswith(("http://", "https://")) \
                and not repo["suite"].endswith("/"):
            key = (repo["uri"], repo["suite"])
            if key not in [(r["uri"], r["suite"]) for r in found]:
                found.append(repo)
    return found


def local_play(tasks, tmp):
    path = os.path.join(tmp, "play.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    record = os.path.join(tmp, "record.json")
    env = dict(os.environ, FUEL_RECORD_RESULTS=record, ANSIBLE_CALLBACKS_ENABLED="record_results",
               ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, path]
    proc = subprocess.run(argv, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False)
    data = {}
    if os.path.exists(record):
        with open(record, encoding="utf-8") as handle:
            data = json.load(handle)
    return PlaybookRun(proc, data)


def apt_options(scratch):
    state = os.path.join(scratch, "state")
    for sub in ("lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(state, sub), exist_ok=True)
    return ["-o", "Dir::Etc::sourcelist=%s/sources.list" % scratch,
            "-o", "Dir::Etc::sourceparts=%s/sources.list.d" % scratch,
            "-o", "Dir::Etc::preferences=%s/preferences" % scratch,
            "-o", "Dir::Etc::preferencesparts=%s/preferences.d" % scratch,
            "-o", "Dir::State=%s" % state, "-o", "Dir::State::Lists=%s/lists" % state,
            "-o", "Dir::State::status=/var/lib/dpkg/status", "-o", "Dir::Cache=%s/cache" % state,
            "-o", "Dir::Cache::archives=%s/cache/archives" % state, "-o", "Acquire::Languages=none",
            "-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1"]


def policy_priorities(policy, sources):
    """{class: priority} read from ``apt-cache policy`` (its list of package files)."""
    found = {}
    for cls, repo in zip(CLASSES, sources):
        source = (re.escape(repo["uri"].rstrip("/")), re.escape(repo["suite"]))
        pattern = re.compile(r"^\s*(-?\d+) %s %s/main \S+ Packages$" % source, re.M)
        match = pattern.search(policy)
        found[cls] = int(match.group(1)) if match else None
    return found


def apt_policy(scratch, sources_files, prefs):
    for rel, text in list(sources_files.items()) + list(prefs.items()):
        path = os.path.join(scratch, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    options = apt_options(scratch)
    update = subprocess.run(["apt-get", "update", "-q"] + options, capture_output=True, text=True, check=False,
                            timeout=900)
    assert update.returncode == 0 and "W:" not in update.stderr and "E:" not in update.stderr, \
        update.stdout + update.stderr
    return subprocess.run(["apt-cache", "policy"] + options, capture_output=True, text=True, check=True).stdout


def test_real_debian_archive_pins_apply(tmp_path):
    sources = host_debian_sources()
    assert sources, "this host's /etc/apt names no enabled http(s) deb source"
    entries = [{"type": "deb", "name": "real-%d" % n, "uri": r["uri"], "suite": r["suite"],
                "section": ["main"], "signed_by": r["signed_by"] or None} for n, r in enumerate(sources)]
    tmp = str(tmp_path)
    run = local_play([{"name": "probe", "fuel.lifecycle.repo_check": {"repos": entries, "timeout": 30}}], tmp)
    assert run.rc == 0, run
    probe = run.task("probe")[0]["result"]
    if probe["unreachable_repos"]:
        pytest.fail("the Debian archive this host's apt sources name is unreachable from here: %s"
                    % "; ".join(p for r in probe["repos"] for p in r["problems"]))
    debian = [e for e, r in zip(entries, probe["repos"]) if (r.get("release") or {}).get("origin") == "Debian"]
    assert len(debian) >= 3, "need three Debian suites in /etc/apt (found %r)" % [e["suite"] for e in debian]
    debian = debian[:3]
    for cls, entry in zip(CLASSES, debian):
        entry["class"] = cls
    # 1. repo_check: signatures (host keyring; and the armoured trusted.gpg.d keyrings without signed_by),
    #    a required package resolved from the main index verified against the signed InRelease hashes.
    unsigned_by = [dict(e, signed_by=None, name=e["name"] + "-trusted") for e in debian]
    run = local_play([{"name": "check", "fuel.lifecycle.repo_check": {
        "repos": debian, "packages": ["base-files"], "timeout": 300, "architecture": "amd64"}},
        {"name": "trusted", "fuel.lifecycle.repo_check": {"repos": unsigned_by, "timeout": 60}}], tmp)
    check = run.task("check")[0]["result"]
    trusted = run.task("trusted")[0]["result"]
    assert run.rc == 0, check.get("msg") or trusted.get("msg") or run.output
    by_name = {r["name"]: r for r in check["repos"] + trusted["repos"]}
    assert check["ok"] and trusted["ok"], json.dumps(check["repos"] + trusted["repos"], indent=1)
    for entry in debian + unsigned_by:
        assert by_name[entry["name"]]["signature"] == "valid", by_name[entry["name"]]
    assert check["packages"][0]["satisfied"], check["packages"]
    real = by_name[debian[0]["name"]]["release"]
    assert real["suite"] != real["codename"], real  # the shape the issue is about: a= would not match
    # 2. repo_priorities into scratch dirs, with the default classes.
    scratch = os.path.join(tmp, "apt-after")
    os.makedirs(os.path.join(scratch, "sources.list.d"))
    os.makedirs(os.path.join(scratch, "preferences.d"))
    run = local_play([{"name": "pins", "fuel.lifecycle.repo_priorities": {
        "repos": debian, "apt_sources_dir": scratch + "/sources.list.d",
        "apt_sources_list": scratch + "/sources.list", "apt_preferences_dir": scratch + "/preferences.d"}}], tmp)
    assert run.rc == 0, run
    files = {}
    for sub in ("sources.list.d", "preferences.d"):
        for name in sorted(os.listdir(os.path.join(scratch, sub))):
            with open(os.path.join(scratch, sub, name), encoding="utf-8") as handle:
                files[os.path.join(sub, name)] = handle.read()
    assert sorted(files) == sorted(["preferences.d/real-1.pref", "preferences.d/real-2.pref"] +
                                   ["sources.list.d/%s.list" % e["name"] for e in debian])
    # 3. APT itself: the pins written now, and the a= pins of before, on the same sources.
    after = apt_policy(scratch, {}, {})
    before_prefs = {k: v.replace("Pin: release n=", "Pin: release a=") for k, v in files.items()
                    if k.startswith("preferences.d/")}
    before_sources = {k: v for k, v in files.items() if k.startswith("sources.list.d/")}
    before = apt_policy(os.path.join(tmp, "apt-before"), before_sources, before_prefs)
    got_after, got_before = policy_priorities(after, debian), policy_priorities(before, debian)
    record = os.path.join(REPO, "build", "real-archive-policy.txt")
    os.makedirs(os.path.dirname(record), exist_ok=True)
    with open(record, "w", encoding="utf-8") as handle:
        handle.write("sources: %s\nbefore (pins a=<suite>): %s\nafter (pins n=<codename>): %s\n\n"
                     "--- apt-cache policy before\n%s\n--- apt-cache policy after\n%s\n"
                     % (["%s %s" % (e["uri"], e["suite"]) for e in debian], got_before, got_after, before, after))
    print("\nreal archive: before %s after %s (%s)" % (got_before, got_after, record))
    assert got_after == EXPECTED, after
    assert got_before["vendor"] == 500 and got_before["holdback"] == 500, before
