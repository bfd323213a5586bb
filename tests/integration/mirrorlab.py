"""A scratch upstream (a copy of the lab's fixture repositories that tests may change), its HTTP server,
a site signing key, and the local mirror run by the mirror role on this machine, served on loopback.

Shared by test_mirror.py, test_release_status.py and benchmarks/mirror.py.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading

from labfixture import REPO

from lab import fixtures

APT_REPOS = {"vendor": ("mos9.0", "main"), "upstream": ("upstream", "main")}
RPM_REPOS = ["vendor", "upstream"]
SITE_UID = "fuel.lifecycle test mirror <mirror@example.invalid>"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory; while the server's ``stall`` event is clear, package downloads wait."""

    def log_message(self, *args):  # quiet
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client killed on purpose (the interrupted mirror run)

    def do_GET(self):  # noqa: N802
        server = self.server
        if self.path.endswith((".deb", ".rpm")) and not server.flowing.is_set():
            server.stalled.set()
            server.flowing.wait(120)
        if server.down:
            self.send_error(503)
            return
        super().do_GET()


class Server:
    """A threading HTTP server on 127.0.0.1 serving ``root``."""

    def __init__(self, root):
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=root))
        self.httpd.daemon_threads = True
        self.httpd.flowing = threading.Event()
        self.httpd.flowing.set()
        self.httpd.stalled = threading.Event()
        self.httpd.down = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def stop(self):
        self.httpd.flowing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def run(argv, env=None, **kwargs):
    return subprocess.run(argv, check=True, text=True, capture_output=True, env=env, **kwargs)


class Upstream:
    """A changeable copy of the fixture repositories, signed with a copy of the fixture key."""

    def __init__(self, lab_www, scratch):
        self.www = os.path.join(scratch, "upstream")
        self.work = os.path.join(scratch, "upstream-work")
        shutil.rmtree(self.www, ignore_errors=True)
        for part in ["keys", "mcv"] + ["deb/" + r for r in APT_REPOS] + ["rpm/" + r for r in RPM_REPOS]:
            shutil.copytree(os.path.join(lab_www, part), os.path.join(self.www, part))
        self.gnupg = os.path.join(scratch, "upstream-gnupg")
        shutil.rmtree(self.gnupg, ignore_errors=True)
        shutil.copytree(os.path.join(os.path.dirname(lab_www), "gnupg"), self.gnupg,
                        ignore=shutil.ignore_patterns("S.*", "*.lock", ".#*"))
        self.env = dict(os.environ, GNUPGHOME=self.gnupg)
        self.definitions = fixtures.load_definitions()
        self.server = Server(self.www)

    @property
    def keyring(self):
        return os.path.join(self.www, "keys", "fuel-lab.gpg")

    @property
    def rpm_key(self):
        return os.path.join(self.www, "keys", "RPM-GPG-KEY-fuel-lab")

    def add_version(self, name, version, repo="upstream", corrupt=False):
        """Publish one more build of a package in the APT and RPM copies of ``repo``, signed;
        ``corrupt`` truncates the package files after their indexes were written."""
        build = {"name": name, "version": version, "summary": "scratch build %s" % version,
                 "files": {"/usr/share/fuel-lab/%s.version" % name: "{version}\n"}}
        os.makedirs(self.work, exist_ok=True)
        deb = fixtures.build_deb(build, self.work, os.path.join(self.www, "deb", repo, "pool"))
        rpm_dir = os.path.join(self.www, "rpm", repo)
        before = set(os.listdir(rpm_dir))
        fixtures.build_rpm(build, self.work, rpm_dir)
        rpm = os.path.join(rpm_dir, (set(os.listdir(rpm_dir)) - before).pop())
        suite, section = APT_REPOS[repo]
        meta = self.definitions["repos"][repo]
        try:
            fixtures.sign_apt_repo(os.path.join(self.www, "deb", repo), suite, section, meta["title"], self.env)
            fixtures.sign_rpm_repo(rpm_dir, self.env)
        finally:
            subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=self.env, check=False, capture_output=True)
        if corrupt:
            for path in (deb, rpm):
                with open(path, "r+b") as handle:
                    handle.truncate(os.path.getsize(path) // 2)
        return deb, rpm

    def remove_version(self, paths, repo="upstream"):
        for path in paths:
            os.unlink(path)
        suite, section = APT_REPOS[repo]
        try:
            fixtures.sign_apt_repo(os.path.join(self.www, "deb", repo), suite, section,
                                   self.definitions["repos"][repo]["title"], self.env)
            fixtures.sign_rpm_repo(os.path.join(self.www, "rpm", repo), self.env)
        finally:
            subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=self.env, check=False, capture_output=True)


def stop_gpg_agents(top):
    """Stop the gpg-agent of every GnuPG home under ``top`` (gpg and librepo start one and leave it running)."""
    for base, dirs, files in os.walk(top):
        if "pubring.kbx" in files or "pubring.gpg" in files or os.path.basename(base) == "pubring":
            subprocess.run(["gpgconf", "--homedir", base, "--kill", "gpg-agent"], check=False, capture_output=True)
            dirs[:] = []
    # Two agents started at once for one home: the one whose socket the other replaced is out of
    # gpgconf's reach; it is ended by its pid.
    for pid in agents_under(top):
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass


def agents_under(top):
    """Pids of the gpg-agents whose ``--homedir`` lies under ``top``."""
    top = os.path.realpath(top) + os.sep
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(os.path.join("/proc", entry, "cmdline"), "rb") as handle:
                argv = handle.read().decode("utf-8", "replace").split("\0")
        except (OSError, ValueError):
            continue
        if argv and os.path.basename(argv[0]) == "gpg-agent" and "--homedir" in argv[:-1]:
            home = argv[argv.index("--homedir") + 1]
            if os.path.realpath(home).startswith(top):
                found.append(int(entry))
    return found


def site_key(scratch):
    """A passphrase-less signing key of the site, made once per scratch directory."""
    home = os.path.join(scratch, "site-gnupg")
    if not os.path.isdir(home):
        os.makedirs(home, mode=0o700)
        env = dict(os.environ, GNUPGHOME=home)
        run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", SITE_UID, "rsa2048", "sign", "never"], env=env)
        run(["gpgconf", "--kill", "gpg-agent"], env=env)
    out = run(["gpg", "--batch", "--with-colons", "--list-keys"], env=dict(os.environ, GNUPGHOME=home)).stdout
    fingerprint = [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")][0]
    return home, fingerprint


def mirror_vars(upstream, root, gnupg, fingerprint, **extra):
    values = {
        "mirror_root": root,
        "mirror_gpg_key": fingerprint,
        "mirror_gnupg_home": gnupg,
        "mirror_install_packages": False,
        "mirror_python": "/usr/bin/python3",
        "mirror_script_path": os.path.join(root, "bin", "fuel-mirror.py"),
        "mirror_config_path": os.path.join(root, "etc", "config.json"),
        "mirror_log_path": os.path.join(root, "mirror.log"),
        "mirror_cron_file": os.path.join(root, "etc", "cron"),
        "mirror_retention": 3,
        "mirror_apt_repos": [
            {"name": name, "url": "%s/deb/%s" % (upstream.server.url, name), "distribution": suite,
             "components": [section], "architectures": ["amd64"], "keyring": upstream.keyring}
            for name, (suite, section) in APT_REPOS.items()],
        "mirror_rpm_repos": [
            {"name": name, "url": "%s/rpm/%s" % (upstream.server.url, name), "gpgkey": upstream.rpm_key}
            for name in RPM_REPOS],
        "mirror_mu_url": upstream.server.url,
        "mirror_mu_releases": ["9.0"],
    }
    values.update(extra)
    return values


def mirror_play(variables):
    return [{"name": "Mirror", "hosts": "localhost", "gather_facts": False, "vars": variables,
             "roles": [{"role": "fuel.lifecycle.mirror"}]}]


def script(root, *args, check=False):
    """fuel-mirror run directly (as its cron entry runs it); (rc, summary)."""
    proc = subprocess.run(["/usr/bin/python3", os.path.join(root, "bin", "fuel-mirror.py"), "--config",
                           os.path.join(root, "etc", "config.json")] + list(args),
                          text=True, capture_output=True, check=check)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else {}), proc.stderr


def current(root):
    link = os.path.join(root, "www", "current")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def snapshot_dirs(root):
    top = os.path.join(root, "www", "snapshots")
    return sorted(os.listdir(top)) if os.path.isdir(top) else []


def client_repos(mirror_url, family):
    """The repos role's set pointing a node at the local mirror's current snapshot."""
    if family == "rpm":
        return [{"type": "rpm", "name": "mirror-%s" % name, "uri": "%s/current/rpm/%s/" % (mirror_url, name),
                 "class": "vendor" if name == "vendor" else "upstream",
                 # The site key signs repomd.xml, the upstream key the packages.
                 "gpgkey": "%s/current/keys/fuel-mirror.asc %s/current/keys/RPM-GPG-KEY-%s" % (
                     mirror_url, mirror_url, name)} for name in RPM_REPOS]
    return [{"type": "deb", "name": "mirror-%s" % name, "uri": "%s/current/deb/%s" % (mirror_url, name),
             "suite": suite, "section": section, "signed_by": "/etc/apt/keyrings/fuel-mirror.gpg",
             "class": "vendor" if name == "vendor" else "upstream"} for name, (suite, section) in APT_REPOS.items()]


def point_clients_play(mirror_root, mirror_url, apt_host, rpm_host):
    """Site key on the APT node, then the repos role (exclusive) on both nodes."""
    key = os.path.join(mirror_root, "www", "current", "keys", "fuel-mirror.gpg")
    return [
        {"name": "Site key", "hosts": apt_host, "gather_facts": False, "tasks": [
            {"name": "Install the mirror's key", "ansible.builtin.copy": {
                "src": key, "dest": "/etc/apt/keyrings/fuel-mirror.gpg", "mode": "0644"}}]},
        {"name": "APT client", "hosts": apt_host, "gather_facts": False, "roles": [{
            "role": "fuel.lifecycle.repos", "vars": {
                "repos_list": client_repos(mirror_url, "deb"), "repos_exclusive": True,
                "repos_package_manager": "apt"}}]},
        {"name": "RPM client", "hosts": rpm_host, "gather_facts": False, "roles": [{
            "role": "fuel.lifecycle.repos", "vars": {
                "repos_list": client_repos(mirror_url, "rpm"), "repos_exclusive": True,
                "repos_package_manager": "rpm"}}]},
    ]


def scratch_dir(name):
    path = os.path.join(REPO, "build", name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def playbook(lab, plays, **kwargs):
    """lab.playbook with the run's output in the test's captured stdout."""
    run = lab.playbook(plays, **kwargs)
    print(run.output[-6000:])
    return run
