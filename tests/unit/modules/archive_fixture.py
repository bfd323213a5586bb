"""A small APT archive and RPM repository with the shape of real ones, built for unit tests.

APT: ``dists/bookworm`` with Suite ``stable`` != Codename ``bookworm``, Origin and
Label, ``Acquire-By-Hash: yes`` (index files also under ``by-hash/SHA256``), two
components and two architectures, InRelease signed by two keys; keyrings with one
key (binary and armoured) and both keys. RPM: repomd.xml with the primary
checksum, signed by both keys (armoured detached signature).
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import subprocess
import time

KEYS = ("Archive Key A <a@example.invalid>", "Archive Key B <b@example.invalid>")
ORIGIN, LABEL, SUITE, CODENAME = "TestOrigin", "Test Label", "stable", "bookworm"
COMPONENTS = ("main", "contrib")
ARCHES = ("amd64", "arm64")
PACKAGES = {
    ("main", "amd64"): [("libfuel-common", "1.2-0mos1"), ("fuel-agent", "2:1.0-1"), ("libfuel-common", "1.1-0mos1")],
    ("main", "arm64"): [("libfuel-common", "1.2-0mos1")],
    ("contrib", "amd64"): [("extra-tool", "0.9-1")],
    ("contrib", "arm64"): [],
}
RPM_PACKAGES = [("libfuel-common", "0", "1.2", "0mos1"), ("fuel-agent", "2", "1.0", "0mos1")]


def _run(argv, env, **kwargs):
    return subprocess.run(argv, env=env, check=True, capture_output=True, **kwargs)


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())


def packages_text(items):
    return "".join("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@e.invalid>\n"
                   "Description: test\n x\n\n" % item for item in items)


def build(root):
    """Build everything under ``root``; returns a dict of paths."""
    gnupg = os.path.join(root, "gnupg")
    os.makedirs(gnupg, mode=0o700)
    env = dict(os.environ, GNUPGHOME=gnupg)
    for uid in KEYS:
        _run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"], env)
    keys = os.path.join(root, "keys")
    os.makedirs(keys)
    paths = {"root": root, "gnupg": gnupg}
    for letter, uid in zip("ab", KEYS):
        _run(["gpg", "--batch", "--yes", "--export", "-o", os.path.join(keys, "%s.gpg" % letter), uid], env)
        _run(["gpg", "--batch", "--yes", "--armor", "--export", "-o", os.path.join(keys, "%s.asc" % letter), uid], env)
    _run(["gpg", "--batch", "--yes", "--export", "-o", os.path.join(keys, "both.gpg")], env)
    _run(["gpg", "--batch", "--yes", "--armor", "--export", "-o", os.path.join(keys, "both.asc")], env)
    other = os.path.join(root, "gnupg-other")
    os.makedirs(other, mode=0o700)
    other_env = dict(os.environ, GNUPGHOME=other)
    _run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Stranger <s@example.invalid>", "ed25519", "sign",
          "never"], other_env)
    _run(["gpg", "--batch", "--yes", "--export", "-o", os.path.join(keys, "stranger.gpg")], other_env)
    paths["keys"] = keys

    # ---------------------------------------------------------------- APT
    deb = os.path.join(root, "deb")
    dists = os.path.join(deb, "dists", CODENAME)
    lines = []
    for (component, arch), items in sorted(PACKAGES.items()):
        text = packages_text(items).encode()
        for suffix, data in (("", text), (".gz", gzip.compress(text, mtime=0)), (".xz", lzma.compress(text))):
            rel = "%s/binary-%s/Packages%s" % (component, arch, suffix)
            _write(os.path.join(dists, rel), data)
            digest = hashlib.sha256(data).hexdigest()
            _write(os.path.join(dists, component, "binary-%s" % arch, "by-hash", "SHA256", digest), data)
            lines.append(" %s %8d %s" % (digest, len(data), rel))
    release = ("Origin: %s\nLabel: %s\nSuite: %s\nVersion: 12.0\nCodename: %s\nDate: %s\nAcquire-By-Hash: yes\n"
               "Architectures: %s\nComponents: %s\nDescription: test archive\nSHA256:\n%s\n"
               % (ORIGIN, LABEL, SUITE, CODENAME, time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime()),
                  " ".join(ARCHES), " ".join(COMPONENTS), "\n".join(lines)))
    _write(os.path.join(dists, "Release"), release)
    signers = []
    for uid in KEYS:
        signers += ["-u", uid]
    _run(["gpg", "--batch", "--yes", "--clearsign", "--digest-algo", "SHA256"] + signers +
         ["-o", os.path.join(dists, "InRelease"), os.path.join(dists, "Release")], env)
    _run(["gpg", "--batch", "--yes", "-abs"] + signers + ["-o", os.path.join(dists, "Release.gpg"),
                                                          os.path.join(dists, "Release")], env)
    paths["deb"] = deb
    paths["dists"] = dists

    # ---------------------------------------------------------------- RPM
    rpm = os.path.join(root, "rpm")
    primary = ('<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" '
               'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="%d">\n' % len(RPM_PACKAGES))
    for name, epoch, ver, rel in RPM_PACKAGES:
        primary += ('<package type="rpm"><name>%s</name><arch>noarch</arch><version epoch="%s" ver="%s" rel="%s"/>'
                    '</package>\n' % (name, epoch, ver, rel))
    primary += "</metadata>\n"
    data = gzip.compress(primary.encode(), mtime=0)
    digest = hashlib.sha256(data).hexdigest()
    href = "repodata/%s-primary.xml.gz" % digest
    _write(os.path.join(rpm, href), data)
    repomd = ('<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">\n'
              '  <revision>1</revision>\n  <data type="primary">\n    <checksum type="sha256">%s</checksum>\n'
              '    <location href="%s"/>\n    <size>%d</size>\n  </data>\n</repomd>\n' % (digest, href, len(data)))
    _write(os.path.join(rpm, "repodata", "repomd.xml"), repomd)
    _run(["gpg", "--batch", "--yes", "--armor", "--detach-sign"] + signers +
         ["-o", os.path.join(rpm, "repodata", "repomd.xml.asc"), os.path.join(rpm, "repodata", "repomd.xml")], env)
    paths["rpm"] = rpm
    paths["primary"] = os.path.join(rpm, href)
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=other_env, check=False, capture_output=True)
    return paths
