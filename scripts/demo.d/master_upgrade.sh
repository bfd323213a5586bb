# Sourced by scripts/demo.sh: the master upgrade on the RPM host (real dnf/rpm,
# createrepo_c; the chroot host has no LVM, so no snapshots here: the VM test
# VM proof tests/integration/vm_master_upgrade_pending.py is not collected yet). The host is reset
# to the deployed state at the end.
banner "Master upgrade: prepare -> update -> commit -> finalize on the RPM host (master)"
master_root=.lab/default/nodes/master/root
www=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["www"])' .lab/default/state.json)
mkdir -p "$master_root/var/www/nailgun/centos"
cp -a "$www/rpm/master-nailgun" "$master_root/var/www/nailgun/centos/x86_64"
printf '[nailgun]\nname=Local vendor repository\nbaseurl=file:///var/www/nailgun/centos/x86_64\nenabled=1\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fuel-lab\n' \
  > "$master_root/etc/yum.repos.d/nailgun.repo"
chroot "$master_root" dnf -y -q install master-nailgun-app master-openssl master-coreutils master-dockerctl-tools \
  master-zz-scriptlet master-lab-services 2>/dev/null
chroot "$master_root" /etc/init.d/rsyslog start
chroot "$master_root" /etc/init.d/monit start
echo "out of order, refused:"
ansible-playbook playbooks/master_upgrade.yml -e @tests/integration/vars/master_upgrade_chroot.yml -e phase=commit \
  | grep -o "phase 'commit' refused[^.]*" | head -n 1 | sed 's/^/  /' || true
for phase in prepare update commit finalize; do
  ansible-playbook playbooks/master_upgrade.yml -e @tests/integration/vars/master_upgrade_chroot.yml \
    -e phase=$phase -e master_upgrade_report_dir="$PWD/build/reports" | tail -n 2 | head -n 1
done
cat build/reports/master-upgrade-master-1.md
python -m lab reset master
