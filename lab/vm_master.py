"""The qemu VM made to look like a deployed master: ``python -m lab vm-master``.

Needs the chroot lab's mirror (``lab up``) and a running VM (``lab vm-up``).
Ships the master's fixtures into the VM in one tar stream over SSH (a module
run per file is slow under TCG), imports the lab key, lays out the local
vendor repository ``/var/www/nailgun/centos/x86_64`` with its ``nailgun``
repo file, installs the vendor packages with dnf (the RPM database then
knows the Debian userland through ``fuel-lab-host-provides``) and starts the
init-script services. The VM inventory gets ``fuel_lab_mirror_url``: the
mirror as the guest sees it, through qemu's host alias 10.0.2.2.
"""

import os
import subprocess

import yaml

from lab import vm
from lab.common import load_json, log, write_file

MASTER_PACKAGES = ["master-nailgun-app", "master-openssl", "master-coreutils", "master-dockerctl-tools",
                   "master-zz-scriptlet", "master-lab-services"]
SHIPPED = ["rpm/master-nailgun", "keys/RPM-GPG-KEY-fuel-lab", "host/fuel-lab-host-provides-1.0-1.noarch.rpm"]
GUEST_HOST_ALIAS = "10.0.2.2"

# Fixed script (no data from outside the lab): the deployed master's repository, packages and services.
SETUP = r"""
rpm --import /srv/fuel-lab/keys/RPM-GPG-KEY-fuel-lab
mkdir -p /etc/pki/rpm-gpg /etc/yum.repos.d /var/www/nailgun/centos
cp /srv/fuel-lab/keys/RPM-GPG-KEY-fuel-lab /etc/pki/rpm-gpg/
rm -rf /var/www/nailgun/centos/x86_64
cp -a /srv/fuel-lab/rpm/master-nailgun /var/www/nailgun/centos/x86_64
rpm -q fuel-lab-host-provides > /dev/null || rpm -i /srv/fuel-lab/host/fuel-lab-host-provides-1.0-1.noarch.rpm
cat > /etc/yum.repos.d/nailgun.repo <<'REPO'
[nailgun]
name=Local vendor repository
baseurl=file:///var/www/nailgun/centos/x86_64
enabled=1
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fuel-lab
REPO
dnf -y -q install "$@"
/etc/init.d/rsyslog start
/etc/init.d/monit start
sync
"""


def make_vm_master(state_dir, mirror_state_dir=None):
    """Return the mirror URL as the guest sees it, after the VM became a deployed master."""
    lab_state = load_json(os.path.join(mirror_state_dir or state_dir, "state.json"))
    if not lab_state or not lab_state.get("mirror_port"):
        raise RuntimeError("vm-master: the lab mirror is not running (python -m lab up)")
    machine = vm.vm_status(state_dir)
    if not machine or not machine["running"]:
        raise RuntimeError("vm-master: the VM is not running (python -m lab vm-up)")
    ssh = vm.ssh_argv(machine["key"], machine["port"])
    tar = subprocess.run(["tar", "-C", lab_state["www"], "-cf", "-"] + SHIPPED, capture_output=True, check=True)
    unpack = subprocess.run(ssh + ["mkdir -p /srv/fuel-lab && tar -C /srv/fuel-lab -xf -"], input=tar.stdout,
                            capture_output=True, check=False, timeout=600)
    if unpack.returncode != 0:
        raise RuntimeError("vm-master: shipping the fixtures failed: %s" % unpack.stderr.decode(errors="replace"))
    setup = subprocess.run(ssh + ["sh", "-eus", "--"] + MASTER_PACKAGES, input=SETUP, text=True,
                           capture_output=True, check=False, timeout=1200)
    if setup.returncode != 0:
        raise RuntimeError("vm-master: setup failed (rc %d): %s%s" % (
            setup.returncode, setup.stdout, setup.stderr[-4000:]))
    mirror = "http://%s:%d" % (GUEST_HOST_ALIAS, lab_state["mirror_port"])
    with open(machine["inventory"], encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    inventory["all"]["vars"]["fuel_lab_mirror_url"] = mirror
    write_file(machine["inventory"], yaml.safe_dump(inventory, sort_keys=False))
    log("vm-master: %s is a deployed master (vendor repository, %d packages, services); mirror %s" % (
        vm.HOST_NAME, len(MASTER_PACKAGES), mirror))
    return mirror
