#!/usr/bin/env bash
# The demo: build the lab (cached after the first run), then run the
# collection's jobs against it and print what they did. The lab stays up for
# exploration afterwards (`make lab-status`, `make lab-down`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
mkdir -p build/reports

banner() { printf '\n==== %s\n' "$*"; }

banner "Lab: one RPM host (master), a controller and two computes, signed fixture repositories"
python -m lab up
python -m lab status

banner "Node report: repositories and installed vendor packages of every node"
ansible-playbook playbooks/node_report.yml -e node_report_dest="$PWD/build/reports/node_report.json"
python - "$PWD/build/reports/node_report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print()
for host, entry in sorted(report.items()):
    enabled = [r for r in entry["repositories"] if r["enabled"]]
    packages = ", ".join("%s %s" % (p["name"], p["version"]) for p in entry["vendor_packages"])
    print("%-8s vendor packages: %s" % (host, packages or "none"))
    for repo in enabled:
        where = repo["uri"] + (" %s %s" % (repo["suite"], repo["section"]) if "suite" in repo else "")
        print("%-8s repository: %s" % ("", where))
print("\nfull report: %s" % sys.argv[1])
PY

for extra in scripts/demo.d/*.sh; do
  [ -e "$extra" ] || continue
  # shellcheck source=/dev/null
  source "$extra"
done
banner "Done. The lab is still up: make lab-status / make lab-down"
