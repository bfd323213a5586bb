"""Fixture repositories: .deb and .rpm packages built from lab/fixtures/packages.yml.

The result is a web root (cached by the content of the definitions and of this
file) with signed APT repositories under deb/<repo>, signed RPM repositories
under rpm/<repo>, the public keys under keys/ and the maintenance-update
records under mcv/mos/<release>/.

The repositories have the shape of real archives, so the collection meets what
it meets in production:

* APT: ``dists/<codename>`` (the name sources lines carry, ``suite`` in
  packages.yml) whose Release says ``Codename: <codename>`` but a different
  ``Suite:`` (``stable...`` for the vendor suites, ``<codename>-current``
  otherwise; ``dists/<Suite>`` is a symlink, as on Debian mirrors), with
  ``Origin``/``Label``, two components (the package's and an empty
  ``contrib``), two architectures, ``Packages``/``.gz``/``.xz`` also published
  under ``by-hash/SHA256`` (``Acquire-By-Hash: yes``), and an InRelease and
  Release.gpg signed by two keys;
* keyrings: ``keys/fuel-lab.gpg`` (both keys, binary), ``fuel-lab.asc`` (both,
  armoured), ``fuel-lab-a.gpg`` (first key only, binary), ``fuel-lab-b.asc``
  (second key only, armoured);
* RPM: createrepo_c metadata (checksums in repomd.xml), packages signed by the
  first key, ``repomd.xml.asc`` by both; ``RPM-GPG-KEY-fuel-lab`` holds both
  keys, ``RPM-GPG-KEY-fuel-lab-b`` the second only.
"""

import glob
import hashlib
import json
import os
import re
import shutil

import yaml

from lab import mu_bench
from lab.common import CACHE_DIR, LAB_DIR, digest, log, run, write_file
from lab.roots import cache_lock

DEFINITIONS = os.path.join(LAB_DIR, "fixtures", "packages.yml")
# Repositories and packages of the next major release, added to the definitions.
NEXT_RELEASE = os.path.join(LAB_DIR, "fixtures", "next_release.yml")
KEY_NAME = "fuel-lab"
KEY_UID = "fuel.lifecycle lab repositories <lab@example.invalid>"
# Real archives sign with two keys (the current and the next archive key).
KEY2_UID = "fuel.lifecycle lab repositories, second key <lab-2@example.invalid>"
ARCHITECTURES = ("amd64", "arm64")
EXTRA_COMPONENT = "contrib"
# The RPM host's userland comes from Debian, so its RPM database knows nothing
# of /bin/sh and friends; this package (outside every repository) says they exist.
HOST_PROVIDES = {
    "name": "fuel-lab-host-provides", "version": "1.0-1", "summary": "Files the Debian userland provides",
    "provides": ["/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/python3"], "files": {},
}
DEB_SCRIPTS = {"preinst": "%pre", "postinst": "%post", "prerm": "%preun", "postrm": "%postun"}


def load_definitions(path=DEFINITIONS):
    with open(path, encoding="utf-8") as handle:
        definitions = yaml.safe_load(handle)
    if path == DEFINITIONS and os.path.exists(NEXT_RELEASE):
        with open(NEXT_RELEASE, encoding="utf-8") as handle:
            extra = yaml.safe_load(handle)
        definitions["repos"].update(extra["repos"])
        definitions["packages"] = definitions["packages"] + extra["packages"]
    # the benchmark MU (lab/fixtures/mu_bench.yml) is generated, not listed
    return mu_bench.extend(definitions) if path == DEFINITIONS else definitions


def split_version(full):
    """'[epoch:]upstream-revision' -> (epoch or None, upstream, revision)."""
    epoch = None
    if ":" in full:
        epoch, full = full.split(":", 1)
    upstream, _sep, revision = full.rpartition("-")
    if not upstream:
        raise ValueError("fixture version %r needs a revision" % full)
    return epoch, upstream, revision


def builds(definitions):
    """Every (package, build) pair, build fields layered over the package's."""
    for package in definitions["packages"]:
        for build in package["builds"]:
            merged = {k: v for k, v in package.items() if k != "builds"}
            merged.update(build)
            merged.setdefault("files", {})
            merged["files"] = dict(merged["files"])
            merged["files"]["/usr/share/fuel-lab/%s.version" % merged["name"]] = "{version}\n"
            yield merged


def _render_files(build, dest):
    for path, content in build["files"].items():
        mode = 0o755 if path.startswith(("/usr/bin/", "/usr/sbin/", "/etc/init.d/")) else 0o644
        write_file(dest + path, content.replace("{version}", build["version"]), mode)


def build_deb(build, workdir, outdir):
    stage = os.path.join(workdir, "deb-%s-%s" % (build["name"], build["version"].replace(":", "_")))
    shutil.rmtree(stage, ignore_errors=True)
    _render_files(build, stage)
    control = [
        "Package: %s" % build["name"],
        "Version: %s" % build["version"],
        "Architecture: all",
        "Maintainer: fuel.lifecycle lab <lab@example.invalid>",
    ]
    for field in ("depends", "conflicts", "replaces", "provides", "breaks"):
        if build.get(field):
            control.append("%s: %s" % (field.capitalize(), ", ".join(build[field])))
    control += ["Description: %s" % build["summary"], " Fixture package of the fuel.lifecycle lab."]
    write_file(os.path.join(stage, "DEBIAN", "control"), "\n".join(control) + "\n")
    for script, body in (build.get("scripts") or {}).items():
        write_file(os.path.join(stage, "DEBIAN", script), "#!/bin/sh\nset -e\n" + body + "\n", 0o755)
    out = os.path.join(outdir, "%s_%s_all.deb" % (build["name"], build["version"].replace(":", "%3a")))
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", stage, out], capture=True)
    return out


def build_rpm(build, workdir, outdir):
    epoch, version, release = split_version(build["version"])
    top = os.path.join(workdir, "rpmbuild")
    stage = os.path.join(workdir, "rpm-%s-%s" % (build["name"], build["version"].replace(":", "_")))
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    _render_files(build, stage)
    spec = [
        "%global debug_package %{nil}",
        "%global __os_install_post %{nil}",
        "Name: %s" % build["name"],
        "Version: %s" % version,
        "Release: %s" % release,
        "Summary: %s" % build["summary"],
        "License: GPL-3.0-or-later",
        "BuildArch: noarch",
    ]
    if epoch:
        spec.append("Epoch: %s" % epoch)
    for field, tag in (("depends", "Requires"), ("conflicts", "Conflicts"), ("provides", "Provides"),
                       ("obsoletes", "Obsoletes")):
        for item in build.get(field) or []:
            spec.append("%s: %s" % (tag, item))
    spec += ["", "%description", "Fixture package of the fuel.lifecycle lab.", "",
             "%install", "mkdir -p %{buildroot}", "cp -a " + stage + "/. %{buildroot}/", "", "%files"]
    spec += sorted(build["files"])
    for script, body in (build.get("scripts") or {}).items():
        spec += ["", DEB_SCRIPTS[script], body]
    spec_path = os.path.join(workdir, "%s.spec" % build["name"])
    write_file(spec_path, "\n".join(spec) + "\n")
    run(["rpmbuild", "-bb", "--define", "_topdir " + top, "--define", "_rpmdir " + outdir,
         "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm", spec_path], capture=True)


def make_key(gnupg):
    os.makedirs(gnupg, mode=0o700, exist_ok=True)
    env = dict(os.environ, GNUPGHOME=gnupg)
    for uid in (KEY_UID, KEY2_UID):
        run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "rsa3072", "sign", "never"],
            env=env, capture=True)
    return env


def suite_of(codename):
    """The Release ``Suite:`` of a fixture codename: different from it, as on real archives."""
    if codename.startswith("mos"):
        return re.sub(r"\Amos[0-9.]+", "stable", codename)
    return codename + "-current"


def _by_hash(dists, rel):
    """Publish ``dists/rel`` under its directory's by-hash/SHA256 too."""
    path = os.path.join(dists, rel)
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    target = os.path.join(os.path.dirname(path), "by-hash", "SHA256", digest)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(path, target)


def sign_apt_repo(repo_dir, suite, section, title, env):
    dists = os.path.join(repo_dir, "dists", suite)
    packages = run(["apt-ftparchive", "packages", "pool"], cwd=repo_dir, capture=True).stdout
    indexes = []
    for component in (section, EXTRA_COMPONENT):
        for arch in ARCHITECTURES:
            binary = os.path.join(dists, component, "binary-%s" % arch)
            os.makedirs(binary, exist_ok=True)
            write_file(os.path.join(binary, "Packages"), packages if component == section else "")
            run(["gzip", "-kf9n", os.path.join(binary, "Packages")])
            run(["xz", "-kf", os.path.join(binary, "Packages")])
            indexes += ["%s/binary-%s/Packages%s" % (component, arch, ext) for ext in ("", ".gz", ".xz")]
    release = run(["apt-ftparchive",
                   "-o", "APT::FTPArchive::Release::Origin=fuel-lab",
                   "-o", "APT::FTPArchive::Release::Label=%s" % title,
                   "-o", "APT::FTPArchive::Release::Suite=%s" % suite_of(suite),
                   "-o", "APT::FTPArchive::Release::Codename=%s" % suite,
                   "-o", "APT::FTPArchive::Release::Architectures=%s" % " ".join(ARCHITECTURES),
                   "-o", "APT::FTPArchive::Release::Components=%s %s" % (section, EXTRA_COMPONENT),
                   "release", "."], cwd=dists, capture=True).stdout
    # The index files are also served by hash; APT fetches them that way when the Release says so.
    release = "Acquire-By-Hash: yes\n" + release
    write_file(os.path.join(dists, "Release"), release)
    for rel in indexes:
        _by_hash(dists, rel)
    both = ["-u", KEY_UID, "-u", KEY2_UID]
    run(["gpg", "--batch", "--yes", "--digest-algo", "SHA256", "--clearsign"] + both +
        ["-o", os.path.join(dists, "InRelease"), os.path.join(dists, "Release")], env=env, capture=True)
    run(["gpg", "--batch", "--yes", "--digest-algo", "SHA256", "-abs"] + both +
        ["-o", os.path.join(dists, "Release.gpg"), os.path.join(dists, "Release")], env=env, capture=True)
    alias = os.path.join(repo_dir, "dists", suite_of(suite))
    if not os.path.lexists(alias):
        os.symlink(suite, alias)


def sign_rpm_repo(repo_dir, env):
    rpms = sorted(glob.glob(os.path.join(repo_dir, "*.rpm")))
    if rpms:
        run(["rpmsign", "--addsign", "--define", "_gpg_name " + KEY_UID, "--define", "__gpg /usr/bin/gpg",
             "--define", "_gpg_path " + env["GNUPGHOME"]] + rpms, env=env, capture=True)
    run(["createrepo_c", "--quiet", repo_dir], capture=True)
    repomd = os.path.join(repo_dir, "repodata", "repomd.xml")
    run(["gpg", "--batch", "--yes", "--armor", "--detach-sign", "-u", KEY_UID, "-u", KEY2_UID, "-o", repomd + ".asc",
         repomd], env=env, capture=True)


def build_www():
    """Build (once) and return the web root holding every fixture repository."""
    key = digest(DEFINITIONS, NEXT_RELEASE, os.path.abspath(__file__), *mu_bench.SOURCES)
    www = os.path.join(CACHE_DIR, "fixtures", key, "www")
    with cache_lock("fixtures-" + key):
        if not os.path.isfile(os.path.join(www, ".complete")):
            _build_www(www, key)
    return www


def _build_www(www, key):
    base = os.path.dirname(www)
    shutil.rmtree(base, ignore_errors=True)
    work = os.path.join(base, "work")
    log("building fixture repositories in %s (first run only)" % base)
    definitions = load_definitions()
    env = make_key(os.path.join(base, "gnupg"))
    try:
        _publish(www, work, definitions, env)
    finally:
        # gpg starts an agent for the key's home; it must not outlive the build.
        run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture=True)
    shutil.rmtree(work, ignore_errors=True)
    write_file(os.path.join(www, ".complete"), key + "\n")


def _publish(www, work, definitions, env):
    for build in builds(definitions):
        for repo in build["repos"]:
            if repo not in definitions["repos"]:
                raise ValueError("package %s names unknown repo %s" % (build["name"], repo))
            build_deb(build, work, _mkdir(www, "deb", repo, "pool"))
            if "rpm" in build.get("formats", ["rpm"]):
                build_rpm(build, work, _mkdir(www, "rpm", repo))
    for repo, meta in definitions["repos"].items():
        _mkdir(www, "deb", repo, "pool")
        _mkdir(www, "rpm", repo)
        sign_apt_repo(os.path.join(www, "deb", repo), meta["suite"], meta["section"], meta["title"], env)
        sign_rpm_repo(os.path.join(www, "rpm", repo), env)
    keys = _mkdir(www, "keys")
    run(["gpg", "--batch", "--yes", "--export", "-o", os.path.join(keys, KEY_NAME + ".gpg")], env=env, capture=True)
    run(["gpg", "--batch", "--yes", "--export", "-o", os.path.join(keys, KEY_NAME + "-a.gpg"), KEY_UID], env=env,
        capture=True)
    armored = run(["gpg", "--batch", "--armor", "--export"], env=env, capture=True).stdout
    write_file(os.path.join(keys, "RPM-GPG-KEY-" + KEY_NAME), armored)
    write_file(os.path.join(keys, KEY_NAME + ".asc"), armored)
    second = run(["gpg", "--batch", "--armor", "--export", KEY2_UID], env=env, capture=True).stdout
    write_file(os.path.join(keys, "RPM-GPG-KEY-" + KEY_NAME + "-b"), second)
    write_file(os.path.join(keys, KEY_NAME + "-b.asc"), second)
    write_mu_records(www, definitions)
    build_rpm(HOST_PROVIDES, work, _mkdir(www, "host"))


def mu_record(definitions, record_id):
    for record in definitions["mu_records"]["records"]:
        if record["id"] == record_id:
            return {k: v for k, v in record.items() if k != "repo"}
    raise KeyError("no MU record %s" % record_id)


def write_mu_records(www, definitions):
    mcv = _mkdir(www, "mcv", "mos", definitions["release"])
    for record in definitions["mu_records"]["records"]:
        payload = mu_record(definitions, record["id"])
        write_file(os.path.join(mcv, "records", "%d.json" % record["id"]), json.dumps(payload, indent=2) + "\n")
    current = mu_record(definitions, definitions["mu_records"]["current"])
    write_file(os.path.join(mcv, "mu-version.json"), json.dumps(current, indent=2) + "\n")


def _mkdir(*parts):
    path = os.path.join(*parts)
    os.makedirs(path, exist_ok=True)
    return path


def apt_source_lines(url, definitions, repos):
    return "".join("deb [signed-by=/etc/apt/keyrings/%s.gpg] %s/deb/%s %s %s\n" % (
        KEY_NAME, url, repo, definitions["repos"][repo]["suite"], definitions["repos"][repo]["section"])
        for repo in repos)


def rpm_repo_file(url, definitions, repo):
    return ("[fuel-lab-{repo}]\nname={title}\nbaseurl={url}/rpm/{repo}/\nenabled=1\ngpgcheck=1\n"
            "gpgkey={url}/keys/RPM-GPG-KEY-{key}\n").format(
                repo=repo, title=definitions["repos"][repo]["title"], url=url, key=KEY_NAME)


def write_lab_sources(root, url, flavor, definitions=None):
    """Point a node root at the lab mirror for the repositories a deployed node uses."""
    definitions = definitions or load_definitions()
    repos = definitions["node_install"]["repos"]
    if flavor == "rpm":
        for repo in repos:
            write_file(os.path.join(root, "etc/yum.repos.d/fuel-lab-%s.repo" % repo),
                       rpm_repo_file(url, definitions, repo))
    else:
        write_file(os.path.join(root, "etc/apt/sources.list.d/fuel-lab.list"),
                   apt_source_lines(url, definitions, repos))
