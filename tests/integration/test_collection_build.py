"""The collection builds, installs with ansible-galaxy, and ansible-doc finds its plugins."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tarfile

from labfixture import REPO

BIN = os.path.dirname(sys.executable)


def run(argv, **kwargs):
    proc = subprocess.run(argv, check=False, text=True, capture_output=True, **kwargs)
    assert proc.returncode == 0, "%s failed:\n%s%s" % (argv, proc.stdout, proc.stderr)
    return proc


def test_build_install_and_document(tmp_path):
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), REPO])
    tarball, = glob.glob(str(tmp_path / "fuel-lifecycle-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/modules/repo_info.py" in names
    assert not [n for n in names if n.startswith((".lab", "build/", "lab/", ".venv"))], "lab files leaked"
    installed = tmp_path / "collections"
    # A clean configuration: the checkout's ansible.cfg already exposes the collection.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-p", str(installed), tarball], env=env)
    listing = run([os.path.join(BIN, "ansible-doc"), "-l", "fuel.lifecycle"], env=env, cwd=str(tmp_path)).stdout
    assert "fuel.lifecycle.repo_info" in listing
    doc = run([os.path.join(BIN, "ansible-doc"), "fuel.lifecycle.repo_info"], env=env, cwd=str(tmp_path)).stdout
    assert str(installed) in doc
