#!/usr/bin/env bash
# Install what the demo and the tests need on a Debian 12 machine (as root):
# Debian packages, a virtualenv with the pinned Python requirements, and the
# checkout exposed as the collection fuel.lifecycle. Safe to rerun: each step
# is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  debootstrap rpm createrepo-c gnupg apt-utils dpkg-dev fakeroot
  qemu-system-x86 qemu-utils rsync python3-apt python3-rpm
  openssh-client curl git make e2fsprogs aptly dnf-plugins-core cron
)
PYTHON=${PYTHON:-python3}

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (the lab mounts overlays and starts chroots)" >&2
  exit 1
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The version-ordering tests read every version string of the APT lists.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  apt-get update -q
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements/test.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with requirements/test.txt"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements/test.txt
  echo "$want" > "$stamp"
fi

# ansible-test sanity installs its own pinned tools (pylint, ...) with
# --requirements; they live in a venv of their own so they never clash with
# ansible-lint's. (Its --venv mode would download pip from a host we cannot reach.)
core=$(grep -E '^ansible-core==' requirements/test.txt)
if [ ! -x .venv-sanity/bin/ansible-test ] || [ "$(cat .venv-sanity/.core 2>/dev/null)" != "$core" ]; then
  echo "setup: creating .venv-sanity with $core"
  "$PYTHON" -m venv .venv-sanity
  .venv-sanity/bin/pip install -q --upgrade pip
  .venv-sanity/bin/pip install -q "$core"
  echo "$core" > .venv-sanity/.core
fi

pip_version=$(.venv-sanity/bin/python -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path="/usr/bin/python3"))["pip"])' 2>/dev/null || echo 24.2)
mkdir -p ~/.ansible/test/cache
install -m 0644 scripts/get_pip_offline.py ~/.ansible/test/cache/get_pip_${pip_version//./_}.py

# Ansible finds the collection through ansible.cfg's collections_path.
mkdir -p build/collections/ansible_collections/fuel
ln -sfn ../../../.. build/collections/ansible_collections/fuel/lifecycle
echo "setup: ready (.venv, build/collections)"
