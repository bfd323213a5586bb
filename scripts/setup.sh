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
  openssh-client curl git make e2fsprogs aptly dnf-plugins-core cron shellcheck
)

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

# Interpreters: the main controller (ansible-core 2.21) needs Python 3.12+,
# 3.13 preferred; the legacy controller (ansible-core 2.16) needs 3.10 to 3.12.
# An interpreter found on the machine (PATH or pyenv) is used as it is; when
# there is no 3.12+, scripts/controller-python.sh builds one (a cached Debian 13
# root with its Python 3.13) and prints its path.
PYENV_VERSIONS=${PYENV_ROOT:-$HOME/.pyenv}/versions
first_python() {  # first_python MIN_MINOR MAX_MINOR CANDIDATE...: print the first that runs and fits
  local min=$1 max=$2 candidate
  shift 2
  for candidate in "$@"; do
    [ -x "$candidate" ] || candidate=$(command -v "$candidate" 2>/dev/null) || continue
    [ -n "$candidate" ] || continue
    if "$candidate" -c "import sys, ssl, venv, ensurepip; sys.exit(not ((3, $min) <= sys.version_info[:2] <= (3, $max)))" \
        >/dev/null 2>&1; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}
CONTROLLER_PYTHON=${CONTROLLER_PYTHON:-$(first_python 12 99 python3.13 "$PYENV_VERSIONS"/3.13*/bin/python3.13 \
  python3.14 python3.12 "$PYENV_VERSIONS"/3.12*/bin/python3.12 || ./scripts/controller-python.sh)}
LEGACY_PYTHON=${LEGACY_PYTHON:-$(first_python 10 12 /usr/bin/python3.11 python3.11 "$PYENV_VERSIONS"/3.11*/bin/python3.11 \
  python3.12 python3.10 "$PYENV_VERSIONS"/3.1[02]*/bin/python3.1[02])}
if [ -z "$CONTROLLER_PYTHON" ] || [ -z "$LEGACY_PYTHON" ]; then
  echo "setup: no controller Python (3.12+: '$CONTROLLER_PYTHON', 3.10-3.12: '$LEGACY_PYTHON')" >&2
  exit 1
fi

venv() {  # venv DIR PYTHON REQUIREMENTS: (re)create DIR when the interpreter or the pins changed
  local dir=$1 python=$2 reqs=$3 want
  want="$("$python" -c 'import sys; print(sys.version)' | head -1) $(sha256sum "$reqs" | cut -d' ' -f1)"
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: creating $dir ($python, $reqs)"
    rm -rf "$dir"
    if ! "$python" -m venv "$dir"; then
      # The Debian 13 fallback interpreter: its ensurepip looks for wheels in
      # the host's /usr/share/python-wheels; bootstrap pip from the root's own.
      rm -rf "$dir"
      "$python" -m venv --without-pip "$dir"
      local wheels=("$(dirname "$python")"/../share/python-wheels/pip-*.whl)
      "$dir/bin/python" "${wheels[0]}/pip" install -q pip
    fi
    "$dir/bin/pip" install -q --upgrade pip
    "$dir/bin/pip" install -q -r "$reqs"
    echo "$want" > "$dir/.stamp"
  fi
}
# .venv: the main controller and the test tools (ansible-core 2.21).
venv .venv "$CONTROLLER_PYTHON" requirements/test.txt
# .venv-sanity: ansible-test 2.21 alone; `ansible-test sanity --requirements`
# installs its pinned tools (pylint, ...) there, never clashing with ansible-lint.
venv .venv-sanity "$CONTROLLER_PYTHON" requirements/sanity.txt
# .venv-legacy: ansible-core 2.16, for the Python 2.7 lab node and sanity on 2.16.
venv .venv-legacy "$LEGACY_PYTHON" requirements/legacy.txt

# ansible-test creates its sanity venvs without pip and downloads a get-pip
# script from a host we cannot reach: put the offline stand-in in its cache
# under the name each ansible-test version looks for.
mkdir -p ~/.ansible/test/cache
for tool in .venv-sanity .venv-legacy; do
  pip_version=$("$tool/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path="/usr/bin/python3"))["pip"])' 2>/dev/null || echo 24.2)
  install -m 0644 scripts/get_pip_offline.py ~/.ansible/test/cache/get_pip_"${pip_version//./_}".py
done

# The node interpreters ansible-test compiles and imports the module code with
# (its compile and import tests run once per Python of its range found on
# PATH): pyenv's 2.7 and 3.6 to 3.13, as this machine image ships them, linked
# into build/node-pythons, which the test command gives ansible-test instead of
# pyenv's shims. 2.7 and 3.6 are required (the oldest node Pythons); a missing
# newer one only narrows the range, and ansible-test says which it skipped.
rm -rf build/node-pythons && mkdir -p build/node-pythons
for version in 2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13; do
  found=
  for candidate in "$PYENV_VERSIONS/$version".*/bin/python"$version"; do
    [ -x "$candidate" ] && found=$candidate  # pyenv keeps one patch release per minor here
  done
  [ -n "$found" ] || found=$(command -v "python$version" 2>/dev/null || true)
  if [ -n "$found" ] && "$found" -c 'pass' 2>/dev/null; then
    ln -sfn "$found" "build/node-pythons/python$version"
  elif [ "$version" = 2.7 ] || [ "$version" = 3.6 ]; then
    echo "setup: no python$version: the node-Python checks need it (pyenv install $version)" >&2
    exit 1
  fi
done

# Ansible finds the collection through ansible.cfg's collections_path.
mkdir -p build/collections/ansible_collections/fuel
ln -sfn ../../../.. build/collections/ansible_collections/fuel/lifecycle
echo "setup: ready (.venv, build/collections)"
