#!/usr/bin/env bash
# Run every test of the collection, in order: unit tests, ansible-test sanity,
# ansible-lint (production profile), the molecule scenarios and the lab
# integration tests (chroot nodes and the qemu VM). Ends with one summary line:
# "tests: N passed, N failed" (pytest cases counted one by one, every other
# step as one check). Run through `make test`, which installs what it needs.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
mkdir -p build/results
rm -f build/results/*.xml

passed=0
failed=0
failed_steps=()

step() {  # step NAME COMMAND...: a check that passes or fails as a whole
  local name=$1 start=$SECONDS
  shift
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failed_steps+=("$name"); echo "=== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

pytest_step() {  # pytest_step NAME PATH [ARGS...]: every test case counts; nothing collected fails
  local name=$1 path=$2 start=$SECONDS rc xml="build/results/$1.xml"
  shift 2
  echo "=== $name"
  python -m pytest -p no:cacheprovider --junitxml="$xml" "$path" "$@"
  rc=$?
  read -r p f < <(python scripts/junit_counts.py "$xml")
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -eq 5 ]; then
    echo "=== $name: no test collected: counted as a failure"; failed=$((failed + 1)); failed_steps+=("$name")
  elif [ "$rc" -ne 0 ]; then
    [ "$f" -gt 0 ] || failed=$((failed + 1))
    failed_steps+=("$name"); echo "=== $name: FAILED ($((SECONDS - start)) s)"
  else
    echo "=== $name: ok, $p passed ($((SECONDS - start)) s)"
  fi
}

sanity() {
  # ansible-test needs the collection under ansible_collections/<ns>/<name>.
  # It lists the files with git, so the copy is a git repository of the
  # checkout's tracked and not-ignored files (committed or not).
  local dest=build/sanity/ansible_collections/fuel/lifecycle
  rm -rf "$dest" && mkdir -p "$dest"
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
  done | rsync -a --from0 --files-from=- ./ "$dest/"
  (cd "$dest" && git init -q && git add -A &&
    "$OLDPWD/.venv-sanity/bin/ansible-test" sanity --local --requirements --python 3.11 --color no)
}

molecule_all() {
  local scenario rc=0
  for scenario in extensions/molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario")")
    (cd extensions && molecule test -s "$scenario") || rc=1
  done
  return $rc
}

# Steps to run: all by default, or those named on the command line
# (unit sanity lint molecule integration); extra pytest arguments for the
# integration step come from FUEL_INTEGRATION_ARGS (e.g. "-k mu").
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(unit sanity lint molecule integration)
read -r -a integration_args <<< "${FUEL_INTEGRATION_ARGS:-}"
for s in "${steps[@]}"; do
  case $s in
    unit) pytest_step unit tests/unit -q ;;
    sanity) step sanity sanity ;;
    lint) step ansible-lint ansible-lint --profile production ;;
    molecule) step molecule molecule_all ;;
    integration) pytest_step integration tests/integration -v "${integration_args[@]}" ;;
    *) echo "unknown step $s (unit sanity lint molecule integration)" >&2; exit 2 ;;
  esac
done

echo
[ ${#failed_steps[@]} -eq 0 ] || echo "failed steps: ${failed_steps[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
