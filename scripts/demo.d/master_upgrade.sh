# shellcheck shell=bash
# Sourced by scripts/demo.sh: the master upgrade in the qemu VM (master-vm:
# real dnf/rpm, LVM snapshots of os/root, os/var, os/varlog, /boot backup),
# served by the lab mirror. The VM boots from a fresh overlay of the cached
# image each time and is powered off at the end (make lab-down also stops it).
banner "Master upgrade in the VM: prepare -> update -> commit -> finalize"
python -m lab vm-down > /dev/null 2>&1
python -m lab vm-up
python -m lab vm-master
vm_inventory=.lab/default/vm-inventory.yml
master_vars=(-i "$vm_inventory" -e fuel_master_hosts=master-vm -e master_upgrade_report_dir="$PWD/build/reports"
             -e @tests/integration/vars/master_upgrade_chroot.yml -e @tests/integration/vars/master_upgrade_vm.yml)
echo "out of order, refused:"
ansible-playbook playbooks/master_upgrade.yml "${master_vars[@]}" -e phase=commit \
  | grep -o "phase 'commit' refused[^.]*" | head -n 1 | sed 's/^/  /' || true
for phase in prepare update commit finalize; do
  started=$SECONDS
  recap=$(ansible-playbook playbooks/master_upgrade.yml "${master_vars[@]}" -e phase=$phase | grep -E '^master-vm +:')
  printf '  %-9s %4d s  %s\n' "$phase" $((SECONDS - started)) "$recap"
done
cat build/reports/master-upgrade-master-vm-1.md
python -m lab vm-down
