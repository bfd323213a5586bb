"""The qemu VM of the lab: a GRUB-booting disk laid out like a Fuel master.

The container kernel has no device-mapper, so LVM snapshots, /boot and reboots
are proven in a VM under ``-accel tcg`` (KVM guests hang on these machines).

The disk image is built once and cached (keyed by its inputs) in two stages,
because the host cannot write into logical volumes:

1. a *builder* VM boots the layered root (base + kernel, lvm2, grub-pc, dnf...)
   straight from an ext4 image with ``-kernel``; the empty target disk is its
   second drive. Over SSH it partitions the target (``/boot`` on partition 1,
   VG ``os`` on partition 2 with LVs ``root``, ``var``, ``varlog`` and free
   extents for snapshots), copies its own root there, installs GRUB, powers off;
2. each VM run boots a copy-on-write qcow2 overlay of that image through GRUB,
   so the cached image never changes and a fresh VM costs one boot.

State (pidfile, serial log, overlay, inventory) lives under
``$FUEL_LAB_STATE/vm``; the inventory is a separate file,
``$FUEL_LAB_STATE/vm-inventory.yml``, so the chroot lab's inventory is untouched.
"""

import os
import shutil
import signal
import subprocess
import time

import yaml

from lab import roots
from lab.common import (CACHE_DIR, STATE_DIR, digest, free_port, load_json, log, pid_alive, run, save_json,
                        unmount_all, write_file)

VM_PACKAGES = [
    "linux-image-cloud-amd64", "lvm2", "grub-pc", "fdisk", "rsync", "systemd-sysv", "udev",
    "initramfs-tools", "ifupdown", "isc-dhcp-client", "openssh-server", "python3",
    "dnf", "rpm", "python3-dnf", "python3-rpm", "createrepo-c",
]
IMAGE_VERSION = "2"
DISK_SIZE = "4G"
LAYOUT = {"boot_mib": 512, "lvs": [("root", "1800M"), ("var", "500M"), ("varlog", "200M")]}
HOST_NAME = "master-vm"
GROUP_NAME = "fuel_master_vm"
MEMORY_MIB = 1024
CPUS = 2

INTERFACES = """auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
"""

# Debian's initramfs activates the VG from a udev rule with polling on: the pollers it forks
# outlive the switch to the real root while the initramfs' udev is gone, wait forever for udev
# cookies, hold the VG lock, and (when a merge of os/root is being finished) can leave the root
# device suspended: the boot after a rollback hangs. dracut (the master's EL initramfs)
# activates with --sysinit, which does not poll; this hook gives the VM the same behaviour, and
# the merges are polled from the real root (lvm_snapshot state=absent does it).
INITRAMFS_HOOK = r"""#!/bin/sh
PREREQ="lvm2"
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0 ;; esac
rules="$DESTDIR/usr/lib/udev/rules.d/69-lvm.rules"
[ -f "$rules" ] || exit 0
sed -i 's|vgchange -aay --autoactivation event|vgchange -aay --poll n --autoactivation event|g' "$rules"
"""

# Runs inside the builder VM as root (sent over SSH on stdin, never built from user data).
BUILD_SCRIPT = r"""
set -eux
disk=/dev/vdb
printf 'label: dos\n,{boot_mib}M,L,*\n,,8e\n' | sfdisk -q "$disk"
udevadm settle
mkfs.ext4 -q -L boot "${{disk}}1"
pvcreate -q -y "${{disk}}2"
vgcreate -q os "${{disk}}2"
{lvcreate}
udevadm settle
for lv in {lv_names}; do mkfs.ext4 -q "/dev/os/$lv"; done
mount /dev/os/root /mnt
mkdir -p /mnt/boot /mnt/var
mount "${{disk}}1" /mnt/boot
mount /dev/os/var /mnt/var
mkdir -p /mnt/var/log
mount /dev/os/varlog /mnt/var/log
tar -C / --one-file-system --exclude=./mnt --exclude=./lost+found -cf - . | tar -C /mnt -xpf -
rm -rf /mnt/boot/lost+found /mnt/var/log/journal/*
: > /mnt/etc/machine-id
rm -f /mnt/var/lib/dbus/machine-id
boot_uuid=$(blkid -s UUID -o value "${{disk}}1")
cat > /mnt/etc/fstab <<EOF
/dev/mapper/os-root / ext4 errors=remount-ro 0 1
UUID=$boot_uuid /boot ext4 defaults 0 2
/dev/mapper/os-var /var ext4 defaults 0 2
/dev/mapper/os-varlog /var/log ext4 defaults 0 2
EOF
cat > /mnt/etc/default/grub <<EOF
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0 net.ifnames=0"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF
for fs in dev proc sys; do mount --bind /$fs /mnt/$fs; done
chroot /mnt update-initramfs -u -k all
chroot /mnt grub-install /dev/vdb
chroot /mnt update-grub
for fs in sys proc dev; do umount /mnt/$fs; done
umount /mnt/var/log /mnt/var /mnt/boot /mnt
vgchange -q -an os
sync
"""


def vm_layer():
    """Base root + kernel, LVM, GRUB, dnf/rpm: the VM's root file system content."""
    base = roots.base_root()

    def populate(root):
        roots.apt_install(root, VM_PACKAGES)

    return base, roots.build_layer("vm", [base], [VM_PACKAGES], populate)


def ssh_argv(key, port, extra=()):
    return ["ssh", "-i", key, "-p", str(port), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10"] + list(extra) + ["root@127.0.0.1"]


def wait_ssh(key, port, timeout, pid=None):
    """Poll until ``ssh true`` works (slirp accepts TCP long before the guest's sshd)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not pid_alive(pid):
            raise RuntimeError("qemu (pid %d) exited before SSH came up" % pid)
        proc = subprocess.run(ssh_argv(key, port) + ["true"], capture_output=True, check=False,
                              stdin=subprocess.DEVNULL, timeout=60)
        if proc.returncode == 0:
            return True
        time.sleep(2)
    return False


def qemu_argv(drives, port, serial_log, pidfile, kernel=None, initrd=None, append=None):
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(MEMORY_MIB), "-smp", str(CPUS),
            "-display", "none", "-monitor", "none", "-serial", "file:%s" % serial_log,
            "-pidfile", pidfile, "-daemonize",
            "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22" % port,
            "-device", "virtio-net-pci,netdev=n0"]
    for path, fmt in drives:
        argv += ["-drive", "file=%s,if=virtio,format=%s,cache=unsafe" % (path, fmt)]
    if kernel:
        argv += ["-kernel", kernel, "-initrd", initrd, "-append", append]
    return argv


def read_pid(pidfile):
    try:
        with open(pidfile, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def stop_qemu(pid, key=None, port=None, timeout=90.0):
    """Power off over SSH when possible, then TERM/KILL the qemu of this pid only."""
    if not pid or not pid_alive(pid):
        return
    if key and port:
        subprocess.run(ssh_argv(key, port) + ["systemctl", "poweroff"], capture_output=True, check=False,
                       stdin=subprocess.DEVNULL, timeout=60)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not pid_alive(pid):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def image_paths():
    base, layer = vm_layer()
    key = digest("vm-image", IMAGE_VERSION, VM_PACKAGES, LAYOUT, DISK_SIZE, BUILD_SCRIPT, INTERFACES, INITRAMFS_HOOK,
                 os.path.basename(layer), os.path.basename(base))
    folder = os.path.join(CACHE_DIR, "vm", "image-%s" % key)
    return base, layer, key, folder


def build_image():
    """The cached GRUB-booting disk image (raw) and the SSH key baked into it."""
    base, layer, key, folder = image_paths()
    with roots.cache_lock("vm-image-" + key):
        if not os.path.isfile(os.path.join(folder, ".complete")):
            _build_image(base, layer, key, folder)
    return {"image": os.path.join(folder, "disk.img"), "key": os.path.join(folder, "id_ed25519"),
            "folder": folder, "key_digest": key}


def _build_image(base, layer, key, folder):
    started = time.monotonic()
    scratch = folder + ".build"
    if os.path.isdir(scratch):
        pid = read_pid(os.path.join(scratch, "qemu.pid"))
        stop_qemu(pid)
        unmount_all(scratch)
        shutil.rmtree(scratch)
    os.makedirs(scratch)
    log("building the VM image (first run only): %s" % folder)
    ssh_key = os.path.join(scratch, "id_ed25519")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fuel-lab-vm", "-f", ssh_key], capture=True)
    merged = os.path.join(scratch, "root")
    roots.mount_overlay([layer, base], os.path.join(scratch, "upper"), os.path.join(scratch, "work"), merged)
    try:
        _customise(merged, ssh_key + ".pub")
        kernels = sorted(n for n in os.listdir(os.path.join(merged, "boot")) if n.startswith("vmlinuz-"))
        if not kernels:
            raise RuntimeError("no kernel in the VM layer")
        version = kernels[-1][len("vmlinuz-"):]
        kernel = os.path.join(scratch, "vmlinuz")
        initrd = os.path.join(scratch, "initrd.img")
        shutil.copy(os.path.join(merged, "boot", kernels[-1]), kernel)
        shutil.copy(os.path.join(merged, "boot", "initrd.img-" + version), initrd)
        builder = os.path.join(scratch, "builder.img")
        run(["mkfs.ext4", "-q", "-F", "-L", "builder", "-d", merged, builder, "3G"], capture=True)
    finally:
        unmount_all(scratch)
    target = os.path.join(scratch, "disk.img")
    run(["qemu-img", "create", "-q", "-f", "raw", target, DISK_SIZE], capture=True)
    port = free_port()
    pidfile = os.path.join(scratch, "qemu.pid")
    serial = os.path.join(scratch, "builder-serial.log")
    run(qemu_argv([(builder, "raw"), (target, "raw")], port, serial, pidfile, kernel, initrd,
                  "console=ttyS0 root=/dev/vda rw net.ifnames=0"), capture=True)
    pid = read_pid(pidfile)
    try:
        if not wait_ssh(ssh_key, port, 600, pid):
            raise RuntimeError("builder VM: no SSH within 600 s, see %s" % serial)
        log("builder VM up after %.0f s; laying out the target disk" % (time.monotonic() - started))
        lvcreate = "\n".join("lvcreate -q -y -n %s -L %s os" % (name, size) for name, size in LAYOUT["lvs"])
        script = BUILD_SCRIPT.format(boot_mib=LAYOUT["boot_mib"], lvcreate=lvcreate,
                                     lv_names=" ".join(name for name, _size in LAYOUT["lvs"]))
        proc = subprocess.run(ssh_argv(ssh_key, port) + ["bash", "-s"], input=script, text=True,
                              capture_output=True, check=False, timeout=1800)
        write_file(os.path.join(scratch, "build.log"), proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise RuntimeError("builder script failed (rc=%d):\n%s" % (proc.returncode, proc.stderr[-4000:]))
    finally:
        stop_qemu(pid, ssh_key, port)
    os.unlink(builder)
    write_file(os.path.join(scratch, ".complete"), "%s built in %.0f s\n" % (key, time.monotonic() - started))
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(scratch, folder)
    log("VM image built in %.0f s" % (time.monotonic() - started))


def _customise(root, public_key):
    """Things the image needs beyond the packages: network, hostname, root's key, no policy-rc.d,
    the initramfs hook (activation without polling)."""
    write_file(os.path.join(root, "etc/initramfs-tools/hooks/fuel-lab-lvm-nopoll"), INITRAMFS_HOOK, 0o755)
    write_file(os.path.join(root, "etc/network/interfaces"), INTERFACES)
    write_file(os.path.join(root, "etc/hostname"), HOST_NAME + "\n")
    write_file(os.path.join(root, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 %s\n" % HOST_NAME)
    with open(public_key, encoding="ascii") as handle:
        write_file(os.path.join(root, "root/.ssh/authorized_keys"), handle.read(), 0o600)
    os.chmod(os.path.join(root, "root/.ssh"), 0o700)
    policy = os.path.join(root, "usr/sbin/policy-rc.d")
    if os.path.exists(policy):
        os.unlink(policy)


# --- one running VM per state dir ------------------------------------------------------------

def vm_dir(state_dir=None):
    return os.path.join(state_dir or STATE_DIR, "vm")


def render_inventory(vm):
    host = {"ansible_host": "127.0.0.1", "ansible_port": vm["port"], "fuel_lab_flavor": "vm"}
    return {"all": {
        "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": vm["key"],
            # keepalives end an SSH session whose guest went down under it (a reboot
            # through qemu's user network never closes the TCP connection)
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                       "-o LogLevel=ERROR -o ServerAliveInterval=10 -o ServerAliveCountMax=6",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_timeout": 60,
        },
        "children": {GROUP_NAME: {"hosts": {HOST_NAME: host}}},
    }}


def vm_up(state_dir=None, timeout=600):
    """Start the VM (building the image first if needed); return its state record."""
    folder = vm_dir(state_dir)
    state = load_json(os.path.join(folder, "vm.json"))
    if state and pid_alive(state.get("pid") or 0):
        log("vm-up: already running (pid %d, port %d)" % (state["pid"], state["port"]))
        return state
    vm_down(state_dir, quiet=True)
    started = time.monotonic()
    image = build_image()
    built = time.monotonic()
    os.makedirs(folder, exist_ok=True)
    key = os.path.join(folder, "id_ed25519")
    shutil.copy(image["key"], key)
    os.chmod(key, 0o600)
    overlay = os.path.join(folder, "run.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", image["image"], "-F", "raw", overlay], capture=True)
    port = free_port()
    pidfile = os.path.join(folder, "qemu.pid")
    serial = os.path.join(folder, "serial.log")
    if os.path.exists(serial):
        os.unlink(serial)
    run(qemu_argv([(overlay, "qcow2")], port, serial, pidfile), capture=True)
    pid = read_pid(pidfile)
    state = {"pid": pid, "port": port, "key": key, "overlay": overlay, "serial_log": serial,
             "image": image["image"], "inventory": os.path.join(state_dir or STATE_DIR, "vm-inventory.yml")}
    save_json(os.path.join(folder, "vm.json"), state)
    if not wait_ssh(key, port, timeout, pid):
        raise RuntimeError("VM: no SSH within %d s, see %s" % (timeout, serial))
    state["boot_seconds"] = round(time.monotonic() - built, 1)
    state["image_seconds"] = round(built - started, 1)
    save_json(os.path.join(folder, "vm.json"), state)
    write_file(state["inventory"], yaml.safe_dump(render_inventory(state), sort_keys=False))
    log("vm-up: %s on 127.0.0.1:%d, boot to SSH %.1f s (image ready after %.1f s), inventory %s" % (
        HOST_NAME, port, state["boot_seconds"], state["image_seconds"], state["inventory"]))
    return state


def vm_power_cycle(state_dir=None, timeout=600):
    """Hard reset: kill this VM's qemu by its pid and boot the same overlay again (a stuck boot under TCG)."""
    folder = vm_dir(state_dir)
    state = load_json(os.path.join(folder, "vm.json"))
    if not state:
        raise RuntimeError("VM: not running")
    stop_qemu(state.get("pid"))
    pidfile = os.path.join(folder, "qemu.pid")
    run(qemu_argv([(state["overlay"], "qcow2")], state["port"], state["serial_log"] + ".cycle", pidfile), capture=True)
    state["pid"] = read_pid(pidfile)
    save_json(os.path.join(folder, "vm.json"), state)
    if not wait_ssh(state["key"], state["port"], timeout, state["pid"]):
        raise RuntimeError("VM: no SSH within %d s after a power cycle, see %s.cycle" % (timeout, state["serial_log"]))
    log("vm: power-cycled, SSH back on 127.0.0.1:%d" % state["port"])
    return state


def vm_down(state_dir=None, quiet=False):
    """Power the VM off (SSH poweroff, then its own pid), remove the overlay and inventory."""
    folder = vm_dir(state_dir)
    state = load_json(os.path.join(folder, "vm.json"), {})
    pid = state.get("pid") or read_pid(os.path.join(folder, "qemu.pid"))
    if pid and pid_alive(pid):
        stop_qemu(pid, state.get("key"), state.get("port"), timeout=60)
    for name in ("run.qcow2", "qemu.pid", "vm.json"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            os.unlink(path)
    inventory = os.path.join(state_dir or STATE_DIR, "vm-inventory.yml")
    if os.path.exists(inventory):
        os.unlink(inventory)
    if not quiet:
        log("vm-down: VM stopped, overlay removed (%s)" % folder)
    return 0 if not (pid and pid_alive(pid)) else 1


def vm_status(state_dir=None):
    state = load_json(os.path.join(vm_dir(state_dir), "vm.json"))
    if not state:
        return None
    state["running"] = pid_alive(state.get("pid") or 0)
    return state
