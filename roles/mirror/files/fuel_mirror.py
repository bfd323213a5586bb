# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Versioned local mirror of APT and RPM repositories: aptly and dnf reposync + createrepo_c.

Installed by the ``fuel.lifecycle.mirror`` role as ``/usr/local/sbin/fuel-mirror``
and run by its cron entry; runs on the mirror host's Python (2.7 or 3.6+),
standard library only.

``fuel-mirror --config FILE update``: one dated snapshot of every repository
(aptly mirror update + snapshot + publish signed with the site key; dnf
reposync into a package cache, hard links into the snapshot, createrepo_c,
repomd.xml signed with the site key), the MU records and keys next to them.
The snapshot is verified (signatures with gpgv against the site key, every
index checksum, every package's size and SHA-256) before ``current`` is
switched to it with one rename. Any failure removes the partial snapshot,
leaves ``current`` as it was and exits 1. Old snapshots beyond the retention
count are dropped, never the one ``current`` names.

``rollback [--to ID]``: ``current`` back to the previous (or the named)
complete snapshot, verified first. ``list``: snapshots and ``current``.
Every command prints a JSON summary; ``update`` also writes it to
``<root>/state/last-run.json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import argparse
import bz2
import errno
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from xml.etree import ElementTree

SNAPSHOT_RE = re.compile(r"\A[0-9]{8}T[0-9]{6}Z\Z")
NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
TOKEN_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}\Z")
RELEASE_RE = re.compile(r"\A[0-9A-Za-z][0-9A-Za-z._-]{0,31}\Z")
URL_RE = re.compile(r"\A(https?|file)://[^\s'\"<>\\]+\Z")
COMPLETE = ".complete.json"
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75
RPM_NS = {"c": "http://linux.duke.edu/metadata/common", "r": "http://linux.duke.edu/metadata/repo"}


class MirrorError(Exception):
    """A problem that stops the run; the message says which repository or file."""


def log(message):
    sys.stderr.write("fuel-mirror: %s\n" % message)
    sys.stderr.flush()


# ---------------------------------------------------------------- configuration

def _want(data, key, kind, where, default=None, required=False):
    if key not in data:
        if required:
            raise MirrorError("%s: %s is required" % (where, key))
        return default
    value = data[key]
    if kind is int and isinstance(value, ("".__class__, u"".__class__)) and re.match(r"\A[0-9]{1,9}\Z", value):
        value = int(value)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise MirrorError("%s: %s must be an integer" % (where, key))
    if kind is str and not isinstance(value, ("".__class__, u"".__class__)):
        raise MirrorError("%s: %s must be a string" % (where, key))
    if kind is list and not isinstance(value, list):
        raise MirrorError("%s: %s must be a list" % (where, key))
    if kind is bool and not isinstance(value, bool):
        raise MirrorError("%s: %s must be true or false" % (where, key))
    return value


def _tokens(values, pattern, where):
    for value in values:
        if not isinstance(value, ("".__class__, u"".__class__)) or not pattern.match(value):
            raise MirrorError("%s: %r is not allowed" % (where, value))
    return [str(value) for value in values]


def _abs_path(value, where, required=True):
    if not value:
        if required:
            raise MirrorError("%s is required" % where)
        return ""
    if not os.path.isabs(value) or "\n" in value or "\x00" in value:
        raise MirrorError("%s must be an absolute path" % where)
    return str(value)


def _url(value, where):
    if not isinstance(value, ("".__class__, u"".__class__)) or not URL_RE.match(value):
        raise MirrorError("%s: %r is not an http(s):// or file:// URL" % (where, value))
    return str(value).rstrip("/")


def load_config(path):
    """The run's configuration, every field checked before anything is touched."""
    try:
        with io.open(path, "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except (IOError, OSError) as exc:
        raise MirrorError("%s: cannot be read: %s" % (path, exc))
    except ValueError as exc:
        raise MirrorError("%s: not valid JSON: %s" % (path, exc))
    if not isinstance(data, dict):
        raise MirrorError("%s: must be a JSON object" % path)
    where = path
    config = {
        "root": _abs_path(_want(data, "root", str, where, required=True), "root"),
        "retention": _want(data, "retention", int, where, 3),
        "gnupg_home": _abs_path(_want(data, "gnupg_home", str, where, ""), "gnupg_home", required=False),
        "gpg_key": _want(data, "gpg_key", str, where, required=True),
        "passphrase_file": _abs_path(_want(data, "passphrase_file", str, where, ""), "passphrase_file", False),
        "proxy": _want(data, "proxy", str, where, ""),
        "bandwidth_kib": _want(data, "bandwidth_kib", int, where, 0),
        "timeout": _want(data, "timeout", int, where, 60),
        "site_key_name": _want(data, "site_key_name", str, where, "fuel-mirror"),
        "apt": [],
        "rpm": [],
        "mu": [],
    }
    if config["retention"] < 1 or config["retention"] > 1000:
        raise MirrorError("retention must be between 1 and 1000")
    if config["bandwidth_kib"] < 0 or config["timeout"] < 1:
        raise MirrorError("bandwidth_kib must be >= 0 and timeout >= 1")
    if not config["gpg_key"] or not re.match(r"\A[^\x00-\x1f\x7f]{1,200}\Z", config["gpg_key"]):
        raise MirrorError("gpg_key must name the site signing key")
    if config["proxy"]:
        config["proxy"] = _url(config["proxy"], "proxy")
    if not NAME_RE.match(config["site_key_name"]):
        raise MirrorError("site_key_name: %r is not allowed" % config["site_key_name"])
    seen = set()
    for index, repo in enumerate(_want(data, "apt", list, where, [])):
        at = "apt[%d]" % index
        if not isinstance(repo, dict):
            raise MirrorError("%s must be an object" % at)
        entry = {
            "name": _tokens([_want(repo, "name", str, at, required=True)], NAME_RE, at + ".name")[0],
            "url": _url(_want(repo, "url", str, at, required=True), at + ".url"),
            "distribution": _tokens([_want(repo, "distribution", str, at, required=True)], TOKEN_RE,
                                    at + ".distribution")[0],
            "components": _tokens(_want(repo, "components", list, at, ["main"]), TOKEN_RE, at + ".components"),
            "architectures": _tokens(_want(repo, "architectures", list, at, ["amd64"]), TOKEN_RE,
                                     at + ".architectures"),
            "packages": _tokens(_want(repo, "packages", list, at, []), TOKEN_RE, at + ".packages"),
            "keyring": _abs_path(_want(repo, "keyring", str, at, ""), at + ".keyring"),
        }
        if not entry["components"] or not entry["architectures"]:
            raise MirrorError("%s: components and architectures must not be empty" % at)
        config["apt"].append(entry)
        seen.add(("apt", entry["name"]))
    for index, repo in enumerate(_want(data, "rpm", list, where, [])):
        at = "rpm[%d]" % index
        if not isinstance(repo, dict):
            raise MirrorError("%s must be an object" % at)
        entry = {
            "name": _tokens([_want(repo, "name", str, at, required=True)], NAME_RE, at + ".name")[0],
            "url": _url(_want(repo, "url", str, at, required=True), at + ".url"),
            "gpgkey": _abs_path(_want(repo, "gpgkey", str, at, ""), at + ".gpgkey"),
            "architectures": _tokens(_want(repo, "architectures", list, at, []), TOKEN_RE, at + ".architectures"),
            "packages": _tokens(_want(repo, "packages", list, at, []), TOKEN_RE, at + ".packages"),
        }
        if ("rpm", entry["name"]) in seen:
            raise MirrorError("%s: the name %s is used twice" % (at, entry["name"]))
        config["rpm"].append(entry)
        seen.add(("rpm", entry["name"]))
    names = [repo["name"] for repo in config["apt"]]
    if len(set(names)) != len(names):
        raise MirrorError("apt: a repository name is used twice")
    for index, record in enumerate(_want(data, "mu", list, where, [])):
        at = "mu[%d]" % index
        if not isinstance(record, dict):
            raise MirrorError("%s must be an object" % at)
        config["mu"].append({
            "url": _url(_want(record, "url", str, at, required=True), at + ".url"),
            "release": _tokens([_want(record, "release", str, at, required=True)], RELEASE_RE, at + ".release")[0],
        })
    mu_url = _want(data, "mu_url", str, where, "")
    if mu_url:
        for release in _tokens(_want(data, "mu_releases", list, where, []), RELEASE_RE, "mu_releases"):
            config["mu"].append({"url": _url(mu_url, "mu_url"), "release": release})
    if not (config["apt"] or config["rpm"]):
        raise MirrorError("the configuration names no apt and no rpm repository")
    return config


# ---------------------------------------------------------------- commands

class Tools:
    """Runs the tools (argv lists, C locale) and remembers the last failure's output."""

    def __init__(self, config):
        self.config = config
        self.env = dict(os.environ, LC_ALL="C", LANG="C", LANGUAGE="C")
        if config["gnupg_home"]:
            self.env["GNUPGHOME"] = config["gnupg_home"]
        if config["proxy"]:
            for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
                self.env[name] = config["proxy"]

    def run(self, argv, what, cwd=None):
        log("running %s" % " ".join(argv))
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, cwd=cwd)
        except OSError as exc:
            raise MirrorError("%s: cannot run %s: %s" % (what, argv[0], exc))
        out, err = proc.communicate()
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace")
        if proc.returncode != 0:
            detail = (err.strip() or out.strip()).splitlines()[-3:]
            raise MirrorError("%s: %s exited %d: %s" % (what, argv[0], proc.returncode, " | ".join(detail)))
        return out

    def aptly(self, args, what):
        return self.run(["aptly", "-config=" + self.aptly_conf] + list(args), what)

    @property
    def aptly_conf(self):
        return os.path.join(self.config["root"], "state", "aptly.conf")


def paths(config):
    root = config["root"]
    return {
        "root": root,
        "www": os.path.join(root, "www"),
        "snapshots": os.path.join(root, "www", "snapshots"),
        "current": os.path.join(root, "www", "current"),
        "state": os.path.join(root, "state"),
        "aptly": os.path.join(root, "aptly"),
        "rpm_cache": os.path.join(root, "rpm-cache"),
        "dnf_root": os.path.join(root, "state", "dnf-root"),
        "lock": os.path.join(root, "state", "lock"),
    }


def makedirs(path):
    try:
        os.makedirs(path)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def atomic_write(path, content):
    makedirs(os.path.dirname(path))
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        os.write(handle, content.encode("utf-8") if not isinstance(content, bytes) else content)
        os.fsync(handle)
    finally:
        os.close(handle)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def switch_current(config, snapshot_id):
    """Point ``current`` at a snapshot with one rename: a client sees the old or the new tree."""
    where = paths(config)
    tmp = where["current"] + ".new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.join("snapshots", snapshot_id), tmp)
    os.rename(tmp, where["current"])
    directory = os.open(where["www"], os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def current_snapshot(config):
    link = paths(config)["current"]
    if not os.path.islink(link):
        return None
    target = os.path.basename(os.readlink(link))
    return target if SNAPSHOT_RE.match(target) else None


def complete_snapshots(config):
    """Complete snapshots, oldest first."""
    top = paths(config)["snapshots"]
    if not os.path.isdir(top):
        return []
    return sorted(name for name in os.listdir(top)
                  if SNAPSHOT_RE.match(name) and os.path.isfile(os.path.join(top, name, COMPLETE)))


def new_snapshot_id(config, clock=time.time):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
    while os.path.exists(os.path.join(paths(config)["snapshots"], stamp)):
        time.sleep(1)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
    return stamp


def write_aptly_conf(config):
    where = paths(config)
    conf = {
        "rootDir": where["aptly"],
        "downloadConcurrency": 4,
        "architectures": [],
        "dependencyFollowSuggests": False,
        "dependencyFollowRecommends": False,
        "dependencyFollowAllVariants": False,
        "dependencyFollowSource": False,
        "gpgDisableSign": False,
        "gpgDisableVerify": False,
        "gpgProvider": "gpg",
        "downloadSourcePackages": False,
        "skipContentsPublishing": True,
        "FileSystemPublishEndpoints": {"site": {"rootDir": where["www"], "linkMethod": "hardlink"}},
    }
    atomic_write(os.path.join(where["state"], "aptly.conf"), json.dumps(conf, indent=2, sort_keys=True) + "\n")


def mirror_fingerprint(repo):
    return hashlib.sha256(json.dumps(repo, sort_keys=True).encode("utf-8")).hexdigest()


def aptly_mirror_name(repo, component):
    return "fuel-%s-%s" % (repo["name"], component)


def aptly_snapshot_name(snapshot_id, repo, component):
    return "fuel-%s-%s-%s" % (snapshot_id, repo["name"], component)


def aptly_prefix(snapshot_id, repo):
    return "filesystem:site:snapshots/%s/deb/%s" % (snapshot_id, repo["name"])


def apt_filter(repo):
    return " | ".join("Name (= %s)" % name for name in repo["packages"])


def update_apt(config, tools, snapshot_id, repo):
    """Per component: aptly mirror (recreated when its definition changed), update, snapshot;
    then one signed publication of every component's snapshot."""
    state_file = os.path.join(paths(config)["state"], "apt-%s.json" % repo["name"])
    fingerprint = mirror_fingerprint(repo)
    known = None
    if os.path.isfile(state_file):
        with io.open(state_file, "r", encoding="utf-8") as handle:
            known = json.load(handle).get("fingerprint")
    what = "apt %s" % repo["name"]
    existing = tools.aptly(["mirror", "list", "-raw"], what).split()
    snapshots = []
    for component in repo["components"]:
        mirror = aptly_mirror_name(repo, component)
        if mirror in existing and known != fingerprint:
            tools.aptly(["mirror", "drop", "-force", mirror], what)
            existing.remove(mirror)
        if mirror not in existing:
            argv = ["mirror", "create", "-architectures=" + ",".join(repo["architectures"])]
            if repo["keyring"]:
                argv.append("-keyring=" + repo["keyring"])
            if repo["packages"]:
                argv += ["-filter=" + apt_filter(repo), "-filter-with-deps"]
            tools.aptly(argv + [mirror, repo["url"], repo["distribution"], component], what)
        argv = ["mirror", "update", "-force", "-max-tries=2"]
        if repo["keyring"]:
            argv.append("-keyring=" + repo["keyring"])
        if config["bandwidth_kib"]:
            argv.append("-download-limit=%d" % config["bandwidth_kib"])
        tools.aptly(argv + [mirror], what)
        snapshot = aptly_snapshot_name(snapshot_id, repo, component)
        tools.aptly(["snapshot", "create", snapshot, "from", "mirror", mirror], what)
        snapshots.append(snapshot)
    atomic_write(state_file, json.dumps({"fingerprint": fingerprint}) + "\n")
    argv = ["publish", "snapshot", "-batch", "-distribution=" + repo["distribution"],
            "-component=" + ",".join(repo["components"]), "-architectures=" + ",".join(repo["architectures"]),
            "-gpg-key=" + config["gpg_key"],
            # Fixed Origin and Label: aptly's defaults name the prefix, which changes with every
            # snapshot, and APT refuses a repository whose Label changes under the same URL.
            "-origin=" + config["site_key_name"], "-label=" + repo["name"]]
    if config["passphrase_file"]:
        argv.append("-passphrase-file=" + config["passphrase_file"])
    tools.aptly(argv + snapshots + [aptly_prefix(snapshot_id, repo)], what)


def update_rpm(config, tools, snapshot_id, repo):
    """dnf reposync (signatures checked) into the cache, hard links into the snapshot, createrepo_c, signed."""
    where = paths(config)
    what = "rpm %s" % repo["name"]
    cache = os.path.join(where["rpm_cache"], repo["name"])
    makedirs(cache)
    dnf_root = where["dnf_root"]
    makedirs(dnf_root)
    repoid = "fuel-mirror-" + repo["name"]
    conf = os.path.join(where["state"], "dnf.conf")
    atomic_write(conf, "[main]\nreposdir=%s\ncachedir=%s\nkeepcache=0\ngpgcheck=1\nplugins=1\n" % (
        os.path.join(where["state"], "no-repos.d"), os.path.join(where["state"], "dnf-cache")))
    argv = ["dnf", "-q", "-y", "--config=" + conf, "--installroot=" + dnf_root, "--releasever=mirror",
            "--repofrompath=%s,%s/" % (repoid, repo["url"]), "--setopt=%s.skip_if_unavailable=0" % repoid,
            "--setopt=%s.metadata_expire=0" % repoid, "--setopt=%s.timeout=%d" % (repoid, config["timeout"])]
    if repo["gpgkey"]:
        tools.run(["rpm", "--root=" + dnf_root, "--import", repo["gpgkey"]], what)
        argv += ["--setopt=%s.gpgkey=file://%s" % (repoid, repo["gpgkey"]), "--setopt=%s.gpgcheck=1" % repoid,
                 "--setopt=%s.repo_gpgcheck=1" % repoid]
    else:
        argv += ["--setopt=%s.gpgcheck=0" % repoid]
    if config["proxy"]:
        argv.append("--setopt=%s.proxy=%s" % (repoid, config["proxy"]))
    if config["bandwidth_kib"]:
        argv.append("--setopt=%s.throttle=%dk" % (repoid, config["bandwidth_kib"]))
    if repo["packages"]:
        argv.append("--setopt=%s.includepkgs=%s" % (repoid, ",".join(repo["packages"])))
    argv += ["reposync", "--repoid=" + repoid, "--delete", "--norepopath", "--download-path=" + cache]
    if repo["gpgkey"]:
        argv.append("--gpgcheck")
    if repo["architectures"]:
        argv.append("--arch=" + ",".join(repo["architectures"]))
    try:
        tools.run(argv, what)
    finally:
        stop_keyring_agents(tools, dnf_root)
    target = os.path.join(where["snapshots"], snapshot_id, "rpm", repo["name"])
    makedirs(target)
    for base, _dirs, files in os.walk(cache):
        for name in files:
            if not name.endswith(".rpm"):
                continue
            source = os.path.join(base, name)
            dest = os.path.join(target, os.path.relpath(source, cache))
            makedirs(os.path.dirname(dest))
            os.link(source, dest)
    argv = ["createrepo_c", "--quiet", "--checksum=sha256", "--simple-md-filenames"]
    previous = current_snapshot(config)
    previous_md = previous and os.path.join(where["snapshots"], previous, "rpm", repo["name"])
    if previous_md and os.path.isfile(os.path.join(previous_md, "repodata", "repomd.xml")):
        argv += ["--update", "--update-md-path=" + previous_md]
    tools.run(argv + [target], what)
    sign_detached(config, tools, os.path.join(target, "repodata", "repomd.xml"), what)


def stop_keyring_agents(tools, top):
    """Stop the gpg-agent librepo leaves running in each repository's keyring (``.../pubring``) under ``top``.

    A mirror job run from cron must not leave a daemon per repository behind; best effort."""
    for base, dirs, _files in os.walk(top):
        if os.path.basename(base) == "pubring":
            dirs[:] = []
            try:
                tools.run(["gpgconf", "--homedir", base, "--kill", "gpg-agent"], "stop the keyring agent")
            except MirrorError as exc:
                log("could not stop the gpg-agent of %s: %s" % (base, exc))


def sign_detached(config, tools, path, what):
    argv = ["gpg", "--batch", "--yes", "--armor", "--local-user", config["gpg_key"], "--detach-sign"]
    if config["passphrase_file"]:
        argv += ["--pinentry-mode", "loopback", "--passphrase-file", config["passphrase_file"]]
    tools.run(argv + ["-o", path + ".asc", path], what)


def export_keys(config, tools, snapshot_dir):
    """The site's public key (binary for APT, armoured for rpm) and every upstream RPM key."""
    keys = os.path.join(snapshot_dir, "keys")
    makedirs(keys)
    name = config["site_key_name"]
    tools.run(["gpg", "--batch", "--yes", "--export", "-o", os.path.join(keys, name + ".gpg"), config["gpg_key"]],
              "site key")
    tools.run(["gpg", "--batch", "--yes", "--armor", "--export", "-o", os.path.join(keys, name + ".asc"),
               config["gpg_key"]], "site key")
    if os.path.getsize(os.path.join(keys, name + ".gpg")) == 0:
        raise MirrorError("site key: gpg exported nothing for %r" % config["gpg_key"])
    for repo in config["rpm"]:
        if repo["gpgkey"]:
            shutil.copyfile(repo["gpgkey"], os.path.join(keys, "RPM-GPG-KEY-%s" % repo["name"]))


def fetch_mu(config, tools, snapshot_dir, record):
    """One MU record, validated as a JSON object with an integer id."""
    what = "MU record %s" % record["release"]
    dest = os.path.join(snapshot_dir, "mcv", "mos", record["release"], "mu-version.json")
    makedirs(os.path.dirname(dest))
    argv = ["curl", "-fsS", "--max-time", str(config["timeout"]), "-o", dest]
    if config["proxy"]:
        argv += ["--proxy", config["proxy"]]
    if config["bandwidth_kib"]:
        argv += ["--limit-rate", "%dk" % config["bandwidth_kib"]]
    tools.run(argv + ["%s/mcv/mos/%s/mu-version.json" % (record["url"], record["release"])], what)
    try:
        with io.open(dest, "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except (ValueError, IOError) as exc:
        raise MirrorError("%s: not valid JSON: %s" % (what, exc))
    if not isinstance(data, dict) or isinstance(data.get("id"), bool) or not isinstance(data.get("id"), int):
        raise MirrorError("%s: not an MU record (a JSON object with an integer id)" % what)


# ---------------------------------------------------------------- verification

def _digest(path, name="sha256"):
    digest = hashlib.new(name)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _gpgv(tools, keyring, argv_tail, what):
    tools.run(["gpgv", "--keyring", keyring] + argv_tail, what)


def parse_release(text):
    """SHA256 entries of a Release file: {relative path: (size, sha256)}."""
    entries = {}
    section = None
    for line in text.splitlines():
        if not line.startswith(" "):
            section = line.split(":", 1)[0]
            continue
        if section != "SHA256":
            continue
        parts = line.split()
        if len(parts) == 3:
            entries[parts[2]] = (int(parts[1]), parts[0])
    return entries


def parse_packages(text):
    """(Filename, Size, SHA256) of every stanza of a Packages file."""
    result = []
    for stanza in re.split(r"\n\s*\n", text.strip()):
        fields = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
        if stanza.strip():
            if not fields.get("Filename") or not fields.get("SHA256") or not fields.get("Size", "").isdigit():
                raise MirrorError("a Packages stanza lacks Filename, Size or SHA256: %s" % stanza[:80])
            result.append((fields["Filename"], int(fields["Size"]), fields["SHA256"]))
    return result


def _inside(base, relative):
    path = os.path.normpath(os.path.join(base, relative))
    if not (path + os.sep).startswith(os.path.normpath(base) + os.sep) or "\x00" in relative:
        raise MirrorError("%s: path %r leaves the repository" % (base, relative))
    return path


def verify_apt(tools, keyring, top, repo):
    """Signatures of the published release, every index it lists, every package the indexes list."""
    what = "apt %s" % repo["name"]
    dists = os.path.join(top, "dists", repo["distribution"])
    release = os.path.join(dists, "Release")
    for name in ("InRelease", "Release", "Release.gpg"):
        if not os.path.isfile(os.path.join(dists, name)):
            raise MirrorError("%s: %s is missing" % (what, name))
    _gpgv(tools, keyring, [os.path.join(dists, "InRelease")], what + " InRelease")
    _gpgv(tools, keyring, [os.path.join(dists, "Release.gpg"), release], what + " Release.gpg")
    with io.open(release, "r", encoding="utf-8") as handle:
        entries = parse_release(handle.read())
    count = size = 0
    for component in repo["components"]:
        for arch in repo["architectures"]:
            index = "%s/binary-%s/Packages" % (component, arch)
            if index not in entries:
                raise MirrorError("%s: Release does not list %s" % (what, index))
    for relative, (length, sha) in sorted(entries.items()):
        path = _inside(dists, relative)
        if not os.path.isfile(path):
            continue  # aptly lists the compressed variants it chose not to write
        if os.path.getsize(path) != length or _digest(path) != sha:
            raise MirrorError("%s: %s does not match its Release checksum" % (what, relative))
        if relative.endswith("/Packages") and "/binary-" in relative:
            with io.open(path, "r", encoding="utf-8") as handle:
                for filename, pkg_size, pkg_sha in parse_packages(handle.read()):
                    package = _inside(top, filename)
                    if not os.path.isfile(package) or os.path.getsize(package) != pkg_size \
                            or _digest(package) != pkg_sha:
                        raise MirrorError("%s: %s is missing or does not match its index" % (what, filename))
                    count += 1
                    size += pkg_size
    return count, size


def verify_rpm(tools, keyring, top, repo):
    """repomd.xml signature, every metadata file's checksum, every package's size and checksum."""
    what = "rpm %s" % repo["name"]
    repomd = os.path.join(top, "repodata", "repomd.xml")
    if not os.path.isfile(repomd) or not os.path.isfile(repomd + ".asc"):
        raise MirrorError("%s: repodata/repomd.xml or its signature is missing" % what)
    _gpgv(tools, keyring, [repomd + ".asc", repomd], what + " repomd.xml")
    try:
        tree = ElementTree.parse(repomd)
    except ElementTree.ParseError as exc:
        raise MirrorError("%s: repomd.xml: %s" % (what, exc))
    primary = None
    for data in tree.getroot().findall("r:data", RPM_NS):
        location = data.find("r:location", RPM_NS).get("href")
        checksum = data.find("r:checksum", RPM_NS)
        path = _inside(top, location)
        if not os.path.isfile(path) or _digest(path, checksum.get("type")) != checksum.text.strip():
            raise MirrorError("%s: %s is missing or does not match repomd.xml" % (what, location))
        if data.get("type") == "primary":
            primary = path
    if primary is None:
        raise MirrorError("%s: repomd.xml names no primary metadata" % what)
    opener = gzip.open if primary.endswith(".gz") else (bz2.BZ2File if primary.endswith(".bz2") else open)
    handle = opener(primary, "rb")
    try:
        root = ElementTree.parse(handle).getroot()
    except (ElementTree.ParseError, IOError, OSError, EOFError) as exc:
        raise MirrorError("%s: primary metadata: %s" % (what, exc))
    finally:
        handle.close()
    count = size = 0
    for package in root.findall("c:package", RPM_NS):
        location = package.find("c:location", RPM_NS).get("href")
        checksum = package.find("c:checksum", RPM_NS)
        length = int(package.find("c:size", RPM_NS).get("package"))
        path = _inside(top, location)
        if not os.path.isfile(path) or os.path.getsize(path) != length \
                or _digest(path, checksum.get("type")) != checksum.text.strip():
            raise MirrorError("%s: %s is missing or does not match the primary metadata" % (what, location))
        count += 1
        size += length
    return count, size


def verify_snapshot(config, tools, snapshot_id):
    """Every repository of a snapshot verified; per-repository counts."""
    top = os.path.join(paths(config)["snapshots"], snapshot_id)
    keyring = os.path.join(top, "keys", config["site_key_name"] + ".gpg")
    if not os.path.isfile(keyring):
        raise MirrorError("snapshot %s: the site key %s is missing" % (snapshot_id, keyring))
    repos = []
    for repo in config["apt"]:
        count, size = verify_apt(tools, keyring, os.path.join(top, "deb", repo["name"]), repo)
        repos.append({"type": "apt", "name": repo["name"], "packages": count, "bytes": size})
    for repo in config["rpm"]:
        count, size = verify_rpm(tools, keyring, os.path.join(top, "rpm", repo["name"]), repo)
        repos.append({"type": "rpm", "name": repo["name"], "packages": count, "bytes": size})
    for record in config["mu"]:
        path = os.path.join(top, "mcv", "mos", record["release"], "mu-version.json")
        if not os.path.isfile(path):
            raise MirrorError("snapshot %s: MU record %s is missing" % (snapshot_id, record["release"]))
    return repos


# ---------------------------------------------------------------- snapshots

def drop_snapshot(config, tools, snapshot_id):
    """Unpublish and forget one snapshot (aptly publications and snapshots, the directory)."""
    listed = tools.aptly(["publish", "list", "-raw"], "drop %s" % snapshot_id).splitlines()
    for line in listed:
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("filesystem:site:snapshots/%s/" % snapshot_id):
            tools.aptly(["publish", "drop", "-force-drop", parts[1], parts[0]], "drop %s" % snapshot_id)
    for name in tools.aptly(["snapshot", "list", "-raw"], "drop %s" % snapshot_id).split():
        if name.startswith("fuel-%s-" % snapshot_id):
            tools.aptly(["snapshot", "drop", "-force", name], "drop %s" % snapshot_id)
    shutil.rmtree(os.path.join(paths(config)["snapshots"], snapshot_id), ignore_errors=True)


def incomplete_snapshots(config):
    top = paths(config)["snapshots"]
    if not os.path.isdir(top):
        return []
    current = current_snapshot(config)
    return sorted(name for name in os.listdir(top) if SNAPSHOT_RE.match(name) and name != current
                  and not os.path.isfile(os.path.join(top, name, COMPLETE)))


def retention_plan(complete, current, keep):
    """Snapshots to drop: the oldest beyond ``keep``, never the one ``current`` names."""
    keep_set = set(complete[-keep:]) if keep else set()
    if current:
        keep_set.add(current)
    return [name for name in complete if name not in keep_set]


def disk_bytes(*tops):
    total = 0
    for top in tops:
        for base, _dirs, files in os.walk(top):
            for name in files:
                try:
                    total += os.lstat(os.path.join(base, name)).st_size
                except OSError:
                    pass
    return total


class RunLock:
    """A non-blocking flock: a second run while one is going exits at once."""

    def __init__(self, path):
        self.path = path
        self.handle = None

    def __enter__(self):
        makedirs(os.path.dirname(self.path))
        self.handle = open(self.path, "a")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as exc:
            self.handle.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise LockHeld(self.path)
            raise
        return self

    def __exit__(self, *exc_info):
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        self.handle.close()


class LockHeld(Exception):
    pass


def cmd_update(config, tools, clock=time.time):
    where = paths(config)
    started = clock()
    summary = {"command": "update", "snapshot": None, "current": current_snapshot(config), "switched": False,
               "packages": 0, "bytes": 0, "downloaded_bytes": 0, "repos": [], "errors": [], "dropped": []}
    for directory in (where["www"], where["snapshots"], where["state"], where["aptly"], where["rpm_cache"]):
        makedirs(directory)
    write_aptly_conf(config)
    for stale in incomplete_snapshots(config):
        log("removing the incomplete snapshot %s of an interrupted run" % stale)
        drop_snapshot(config, tools, stale)
    before = disk_bytes(os.path.join(where["aptly"], "pool"), where["rpm_cache"])
    snapshot_id = new_snapshot_id(config, clock)
    summary["snapshot"] = snapshot_id
    top = os.path.join(where["snapshots"], snapshot_id)
    makedirs(top)
    try:
        for repo in config["apt"]:
            update_apt(config, tools, snapshot_id, repo)
        for repo in config["rpm"]:
            update_rpm(config, tools, snapshot_id, repo)
        for record in config["mu"]:
            fetch_mu(config, tools, top, record)
        export_keys(config, tools, top)
        summary["repos"] = verify_snapshot(config, tools, snapshot_id)
    except (MirrorError, OSError, IOError, ValueError) as exc:
        summary["errors"].append(str(exc))
        log("error: %s; removing the partial snapshot %s, current stays %s" % (
            exc, snapshot_id, summary["current"]))
        try:
            drop_snapshot(config, tools, snapshot_id)
        except (MirrorError, OSError) as drop_exc:
            summary["errors"].append("cleanup: %s" % drop_exc)
    summary["downloaded_bytes"] = max(0, disk_bytes(os.path.join(where["aptly"], "pool"), where["rpm_cache"]) - before)
    if not summary["errors"]:
        summary["packages"] = sum(repo["packages"] for repo in summary["repos"])
        summary["bytes"] = sum(repo["bytes"] for repo in summary["repos"])
        record = {"snapshot": snapshot_id, "created": clock(), "repos": summary["repos"], "content": snapshot_id,
                  "mu": [item["release"] for item in config["mu"]]}
        atomic_write(os.path.join(top, COMPLETE), json.dumps(record, indent=2, sort_keys=True) + "\n")
        switch_current(config, snapshot_id)
        summary["current"] = snapshot_id
        summary["switched"] = True
        for old in retention_plan(complete_snapshots(config), snapshot_id, config["retention"]):
            try:
                drop_snapshot(config, tools, old)
                summary["dropped"].append(old)
            except (MirrorError, OSError) as exc:
                summary["errors"].append("retention: %s" % exc)
    summary["seconds"] = round(clock() - started, 3)
    atomic_write(os.path.join(where["state"], "last-run.json"), json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def manifest(config, snapshot_id):
    path = os.path.join(paths(config)["snapshots"], snapshot_id, COMPLETE)
    try:
        with io.open(path, "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def content_of(config, snapshot_id):
    """The update snapshot whose packages a snapshot carries (itself, or what a rollback restored)."""
    if not snapshot_id:
        return None
    content = manifest(config, snapshot_id).get("content")
    return content if isinstance(content, ("".__class__, u"".__class__)) and SNAPSHOT_RE.match(content) \
        else snapshot_id


def republish(config, tools, source, snapshot_id):
    """The packages of ``source`` published again as ``snapshot_id``: new aptly snapshots (a copy) and
    publications with a fresh Release date, the RPM trees, MU records and keys hard-linked."""
    where = paths(config)
    top = os.path.join(where["snapshots"], snapshot_id)
    source_top = os.path.join(where["snapshots"], source)
    makedirs(top)
    for repo in config["apt"]:
        names = []
        for component in repo["components"]:
            name = aptly_snapshot_name(snapshot_id, repo, component)
            tools.aptly(["snapshot", "merge", "-no-remove", name,
                         aptly_snapshot_name(source, repo, component)], "apt %s" % repo["name"])
            names.append(name)
        argv = ["publish", "snapshot", "-batch", "-distribution=" + repo["distribution"],
                "-component=" + ",".join(repo["components"]), "-architectures=" + ",".join(repo["architectures"]),
                "-gpg-key=" + config["gpg_key"], "-origin=" + config["site_key_name"], "-label=" + repo["name"]]
        if config["passphrase_file"]:
            argv.append("-passphrase-file=" + config["passphrase_file"])
        tools.aptly(argv + names + [aptly_prefix(snapshot_id, repo)], "apt %s" % repo["name"])
    for part in ["rpm", "mcv", "keys"]:
        origin = os.path.join(source_top, part)
        for base, _dirs, files in os.walk(origin):
            for name in files:
                dest = os.path.join(top, part, os.path.relpath(os.path.join(base, name), origin))
                makedirs(os.path.dirname(dest))
                os.link(os.path.join(base, name), dest)


def cmd_rollback(config, tools, target=None, clock=time.time):
    """Publish an older snapshot's packages again as a new snapshot and switch ``current`` to it.

    APT ignores a Release file older than the one it already has, so switching the link back to the
    old publication would not reach clients that fetched the newer one; a new publication of the same
    packages, dated now, does."""
    complete = complete_snapshots(config)
    current = current_snapshot(config)
    summary = {"command": "rollback", "previous": current, "current": current, "restored": None,
               "switched": False, "errors": [], "dropped": []}
    if target is None:
        content = content_of(config, current)
        older = [name for name in complete if content is None or name < content]
        if not older:
            summary["errors"].append("no complete snapshot older than %s" % content)
            return summary
        target = older[-1]
    if target not in complete:
        summary["errors"].append("%s is not a complete snapshot (have: %s)" % (target, ", ".join(complete)))
        return summary
    source = target
    target = content_of(config, source)
    summary["restored"] = target
    try:
        verify_snapshot(config, tools, source)
    except (MirrorError, OSError, IOError, ValueError) as exc:
        summary["errors"].append("snapshot %s does not verify: %s" % (source, exc))
        return summary
    for stale in incomplete_snapshots(config):
        drop_snapshot(config, tools, stale)
    snapshot_id = new_snapshot_id(config, clock)
    try:
        republish(config, tools, source, snapshot_id)
        repos = verify_snapshot(config, tools, snapshot_id)
    except (MirrorError, OSError, IOError, ValueError) as exc:
        summary["errors"].append(str(exc))
        try:
            drop_snapshot(config, tools, snapshot_id)
        except (MirrorError, OSError) as drop_exc:
            summary["errors"].append("cleanup: %s" % drop_exc)
        return summary
    record = {"snapshot": snapshot_id, "created": clock(), "repos": repos, "content": target,
              "rollback_from": current, "mu": [item["release"] for item in config["mu"]]}
    atomic_write(os.path.join(paths(config)["snapshots"], snapshot_id, COMPLETE),
                 json.dumps(record, indent=2, sort_keys=True) + "\n")
    switch_current(config, snapshot_id)
    summary.update(current=snapshot_id, switched=True)
    keep = set([target, source])
    for old in retention_plan(complete_snapshots(config), snapshot_id, config["retention"] + len(keep)):
        if old in keep:
            continue
        try:
            drop_snapshot(config, tools, old)
            summary["dropped"].append(old)
        except (MirrorError, OSError) as exc:
            summary["errors"].append("retention: %s" % exc)
    return summary


def cmd_list(config):
    return {"command": "list", "current": current_snapshot(config), "snapshots": complete_snapshots(config),
            "incomplete": incomplete_snapshots(config), "errors": []}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fuel-mirror", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/fuel-mirror/config.json")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("update", help="new dated snapshot; current switched when it verifies")
    rollback = sub.add_parser("rollback", help="current back to the previous (or the named) snapshot")
    rollback.add_argument("--to", default=None)
    sub.add_parser("list", help="snapshots and current")
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_usage(sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(args.config)
    except MirrorError as exc:
        print(json.dumps({"command": args.command, "errors": [str(exc)]}, sort_keys=True))
        return EXIT_USAGE
    tools = Tools(config)
    try:
        with RunLock(paths(config)["lock"]):
            if args.command == "update":
                summary = cmd_update(config, tools)
            elif args.command == "rollback":
                if args.to is not None and not SNAPSHOT_RE.match(args.to):
                    summary = {"command": "rollback", "errors": ["--to: %r is not a snapshot id" % args.to]}
                else:
                    summary = cmd_rollback(config, tools, args.to)
            else:
                summary = cmd_list(config)
    except LockHeld as exc:
        summary = {"command": args.command, "errors": ["another run holds the lock %s" % exc], "locked": True}
        print(json.dumps(summary, sort_keys=True))
        return EXIT_LOCKED
    except (MirrorError, OSError, IOError) as exc:
        summary = {"command": args.command, "errors": [str(exc)]}
    print(json.dumps(summary, sort_keys=True))
    return EXIT_FAILED if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
