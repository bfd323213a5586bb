# shellcheck shell=bash
# Sourced by scripts/demo.sh: a maintenance update rolled out on the apt nodes
# of environment 1 (primary controller first, then batches), the affected
# services restarted, the MU recorded on every node. The nodes start from, and
# are reset to, the deployed state.
banner "Maintenance update: MU 1 -> MU 2 on the apt nodes of env_1, rolling"
python -m lab reset ctrl-1 cmp-1 cmp-2 2> /dev/null
mirror=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["mirror_url"])' .lab/default/state.json)
cat > build/reports/mu-demo.yml <<YAML
fuel_mu_env: "1"
fuel_mu_release: "9.0"
fuel_mu_mirror_url: "$mirror"
fuel_mu_report_dir: "$PWD/build/reports"
fuel_mu_apt_repos:
  - {uri: "$mirror/deb/mu2", suite: mos9.0-mu2, section: main, signed_by: /etc/apt/keyrings/fuel-lab.gpg}
YAML
ansible env_1 -m ansible.builtin.apt -a "name=fuel-lab-libsvc,fuel-lab-idlesvc,fuel-lab-hook update_cache=true" \
  | grep -oE '^[a-z0-9-]+ \| [A-Z]+' | sed 's/^/  installed the MU 1 services: /'
for node in ctrl-1 cmp-1 cmp-2; do
  for daemon in fuel-lab-libsvc fuel-lab-idlesvc; do
    chroot ".lab/default/nodes/$node/root" "/etc/init.d/$daemon" start > /dev/null
  done
done
ansible-playbook playbooks/mu_check.yml -e @build/reports/mu-demo.yml > /dev/null
cat build/reports/mu-check.md
ansible-playbook playbooks/mu_install.yml -e @build/reports/mu-demo.yml | grep -E '^[a-z0-9-]+ +:' | sed 's/^/  /'
cat build/reports/mu-install.md
python -m lab reset ctrl-1 cmp-1 cmp-2 2> /dev/null
