"""The lab's RPM host made to look like a deployed master (shared by the tests and the benchmark)."""

from __future__ import annotations

import os
import shutil

from lab.vm_master import MASTER_PACKAGES


HOST = "master"
NAILGUN = "/var/www/nailgun/centos/x86_64"
INSTALLED = MASTER_PACKAGES


def make_master(lab, host=HOST):
    """A fresh RPM host: the local nailgun repository, its packages installed, services running."""
    lab.reset(host)
    root = lab.root(host)
    shutil.copytree(os.path.join(lab.state["www"], "rpm", "master-nailgun"), root + NAILGUN)
    with open(root + "/etc/yum.repos.d/nailgun.repo", "w", encoding="utf-8") as handle:
        handle.write("[nailgun]\nname=Local vendor repository\nbaseurl=file://%s\nenabled=1\ngpgcheck=1\n"
                     "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fuel-lab\n" % NAILGUN)
    lab.node_run(host, ["dnf", "-y", "-q", "install"] + INSTALLED)
    for service in ("rsyslog", "monit"):
        lab.node_run(host, ["/etc/init.d/" + service, "start"])
    return root
