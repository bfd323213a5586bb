# shellcheck shell=bash
# Sourced by scripts/demo.sh: repository priorities on the RPM host and an APT
# node, with real dnf and apt. The two hosts are reset to the deployed state
# at the end, so later demo steps start from there.
banner "Repositories: vendor over a newer upstream, holdback over both (master: dnf, ctrl-1: apt)"
mirror=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["mirror_url"])' .lab/default/state.json)
cat > build/reports/repos-demo.yml <<YAML
fuel_repos_hosts: master,ctrl-1
repos_exclusive: true
repos_backup_dir: /etc/yum.repos.d.nailgun
repos_check_packages: ["libfuel-common >= 1.1", fuel-agent]
repos_list:
  - {type: rpm, name: vendor, class: vendor, uri: "$mirror/rpm/vendor/", gpgkey: "$mirror/keys/RPM-GPG-KEY-fuel-lab"}
  - {type: rpm, name: upstream, class: upstream, uri: "$mirror/rpm/upstream/", gpgkey: "$mirror/keys/RPM-GPG-KEY-fuel-lab"}
  - {type: deb, name: vendor, class: vendor, uri: "$mirror/deb/vendor", suite: mos9.0, section: main,
     signed_by: /etc/apt/keyrings/fuel-lab.gpg}
  - {type: deb, name: upstream, class: upstream, uri: "$mirror/deb/upstream", suite: upstream, section: main,
     signed_by: /etc/apt/keyrings/fuel-lab.gpg}
repos_holdback:
  - {type: rpm, name: holdback, uri: "$mirror/rpm/holdback/", gpgkey: "$mirror/keys/RPM-GPG-KEY-fuel-lab"}
  - {type: deb, name: holdback, uri: "$mirror/deb/holdback", suite: mos9.0-holdback, section: main,
     signed_by: /etc/apt/keyrings/fuel-lab.gpg}
YAML
ansible-playbook playbooks/repos.yml -e @build/reports/repos-demo.yml --check --diff | tail -n 40
ansible-playbook playbooks/repos.yml -e @build/reports/repos-demo.yml | tail -n 4
master_root=.lab/default/nodes/master/root
ctrl_root=.lab/default/nodes/ctrl-1/root
echo "master /etc/yum.repos.d:"; grep -H -E '^\[|^priority|^enabled' "$master_root"/etc/yum.repos.d/*.repo | sed 's/^/  /'
echo "master: what dnf would do (holdback 30 beats vendor 50 and upstream 70, even downgrading):"
chroot "$master_root" dnf --releasever=12 --setopt=metadata_expire=0 --assumeno distro-sync libfuel-common 2>&1 \
  | grep -E 'Downgrading|Upgrading|libfuel-common' | sed 's/^/  /' || true
echo "ctrl-1: apt-cache policy libfuel-common (holdback 1200 > vendor 1050 > upstream 500):"
chroot "$ctrl_root" apt-cache policy libfuel-common | sed 's/^/  /'
python -m lab reset master ctrl-1
