#!/usr/bin/env bash
# Run every test of the collection. Static steps first, in parallel (they are
# independent): vermin (node-side code for Python 2.7 and 3.6), ansible-test
# sanity under ansible-core 2.16 and 2.21, the unit tests, every module on the
# node Pythons 2.7 and 3.6 under ansible-core 2.16, ansible-lint (production
# profile); then the lab steps, one after the other: the molecule scenarios and
# the lab integration tests (chroot nodes driven by ansible-core 2.21, the
# Python 2.7 node by 2.16, and the qemu VM).
#
# Every step's exit status counts. pytest steps count their cases one by one
# (xfail strict: an XPASS is a failure), every other step counts as one check.
# Closing lines: a summary with skipped, xfailed, xpassed and any narrowing of
# the run (steps named on the command line, FUEL_INTEGRATION_ARGS, deselected
# tests), then "tests: N passed, N failed, N skipped", the line CI reads.
# Run through `make test`, which installs what it needs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
export PATH="$REPO/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$REPO/ansible.cfg"
RESULTS=build/results
mkdir -p "$RESULTS" || exit 2
rm -f "$RESULTS"/*.xml "$RESULTS"/*.result "$RESULTS"/*.log
JOBS=${FUEL_TEST_JOBS:-3}  # static steps run at once (2 cores: 3 keeps both busy)
NODE_CODE=(plugins/modules plugins/module_utils)

# --- step bodies -----------------------------------------------------------

vermin_check() {
  # The node-side code must parse and run on Python 2.7 and 3.6: any use of a
  # newer feature (f-strings, annotations, 3.7+ stdlib) is a violation. A line
  # may say `# novermin` where vermin is wrong (os.path.ismount, flagged for its
  # Windows change) or where a Python 2/3 import fallback is deliberate.
  vermin --no-config -t=2.7- -t=3.6- --violations --eval-annotations --no-tips \
    "${NODE_CODE[@]}"
}

copy_tree() {  # copy_tree DEST: the checkout's tracked and not-ignored files, as a git repository
  local dest=$1
  rm -rf "$dest" && mkdir -p "$dest" || return 1
  { git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done | rsync -a --from0 --files-from=- ./ "$dest/"; } || { echo "copy of the tree failed" >&2; return 1; }
  (cd "$dest" && git init -q && git add -A) || return 1
}

sanity() {  # sanity VENV LABEL: ansible-test sanity of a copy under ansible_collections/fuel/lifecycle
  # ansible-test needs the collection under ansible_collections/<ns>/<name> and
  # lists the files with git. Multi-version tests (compile, import) run for
  # every Python of ansible-test's range found on PATH: build/node-pythons
  # holds the old node interpreters (2.7, 3.6) that 2.16 still covers.
  # (pyenv's shims are left out: a shim of a version not selected fails.)
  local venv=$1 dest="build/sanity-$2/ansible_collections/fuel/lifecycle" path
  path=$(echo "$PATH" | tr ':' '\n' | grep -v '/\.pyenv/shims' | paste -sd:)
  copy_tree "$dest" || return 1
  (cd "$dest" && PATH="$REPO/$venv/bin:$REPO/build/node-pythons:$path" \
    "$REPO/$venv/bin/ansible-test" sanity --local --requirements --color no)
}

molecule_all() {
  local scenario rc=0
  for scenario in extensions/molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario")")
    (cd extensions && molecule test -s "$scenario") || rc=1
  done
  return $rc
}

# --- step runners: each writes build/results/NAME.result ----------------------
# "status passed failed skipped xfailed xpassed deselected seconds"

check_step() {  # check_step NAME COMMAND...: one check, passes or fails as a whole
  local name=$1 start=$SECONDS rc
  shift
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "ok 1 0 0 0 0 0 $((SECONDS - start))" > "$RESULTS/$name.result"
  else
    echo "FAILED 0 1 0 0 0 0 $((SECONDS - start))" > "$RESULTS/$name.result"
  fi
}

pytest_step() {  # pytest_step NAME PATH [ARGS...]: every test case counts; nothing collected fails
  local name=$1 path=$2 start=$SECONDS rc counts xml="$RESULTS/$1.xml" log="$RESULTS/$1.pytest.log"
  local p=0 f=0 s=0 xf=0 xp=0 deselected=0 status=ok
  shift 2
  python -m pytest -p no:cacheprovider -o xfail_strict=true --junitxml="$xml" "$path" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  deselected=$(tail -n 3 "$log" | grep -oE '[0-9]+ deselected' | tail -1 | cut -d' ' -f1)
  deselected=${deselected:-0}
  if counts=$(python scripts/junit_counts.py "$xml"); then
    read -r p f s xf xp <<< "$counts"
  else
    echo "=== $name: the JUnit counter failed on $xml: counted as a failure"
    f=$((f + 1)); status=FAILED
  fi
  f=$((f + xp))  # an XPASS is a failure (pytest already says so under xfail_strict)
  if [ "$rc" -eq 5 ]; then
    echo "=== $name: no test collected: counted as a failure"; f=$((f + 1)); status=FAILED
  elif [ "$rc" -ne 0 ]; then
    [ "$f" -gt 0 ] || f=$((f + 1))
    status=FAILED
  elif [ "$f" -gt 0 ]; then
    status=FAILED  # the report says failed while pytest said ok: believe the failure
  fi
  echo "$status $p $f $s $xf $xp $deselected $((SECONDS - start))" > "$RESULTS/$name.result"
}

run_step() {  # run_step NAME: the command of one step
  case $1 in
    vermin) check_step vermin vermin_check ;;
    sanity-2.16) check_step sanity-2.16 sanity .venv-legacy 2.16 ;;
    sanity-2.21) check_step sanity-2.21 sanity .venv-sanity 2.21 ;;
    unit) pytest_step unit tests/unit -q ;;
    node-pythons) pytest_step node-pythons tests/nodepython -v ;;
    lint) check_step lint ansible-lint --profile production ;;
    molecule) check_step molecule molecule_all ;;
    integration) pytest_step integration tests/integration -v "${integration_args[@]}" ;;
  esac
}

report_step() {  # print the step's closing line from its result file
  local name=$1 status p f s xf xp d secs
  if ! read -r status p f s xf xp d secs < "$RESULTS/$name.result" 2>/dev/null; then
    echo "=== $name: FAILED (no result recorded)"; return
  fi
  case $status in
    ok) echo "=== $name: ok, $p passed, $s skipped, $xf xfailed ($secs s)" ;;
    *) echo "=== $name: FAILED, $p passed, $f failed, $s skipped, $xf xfailed, $xp xpassed ($secs s)" ;;
  esac
}

# --- which steps -----------------------------------------------------------

ALL_STEPS=(vermin sanity-2.16 sanity-2.21 unit node-pythons lint molecule integration)
PARALLEL_STEPS=" vermin sanity-2.16 sanity-2.21 unit node-pythons lint "
# Steps to run: all by default, or those named on the command line ("sanity"
# names both sanity steps); extra pytest arguments for the integration step
# come from FUEL_INTEGRATION_ARGS (e.g. "-k mu").
requested=("$@")
steps=()
for s in "${requested[@]}"; do
  case $s in
    sanity) steps+=(sanity-2.16 sanity-2.21) ;;
    ansible-lint) steps+=(lint) ;;
    vermin|sanity-2.16|sanity-2.21|unit|node-pythons|lint|molecule|integration) steps+=("$s") ;;
    *) echo "unknown step $s (${ALL_STEPS[*]}, sanity)" >&2; exit 2 ;;
  esac
done
[ ${#steps[@]} -gt 0 ] || steps=("${ALL_STEPS[@]}")
read -r -a integration_args <<< "${FUEL_INTEGRATION_ARGS:-}"
started=$SECONDS

# Static steps in the background (output to build/results/NAME.log, shown
# when they end), at most $JOBS at once; lab steps after them, in order.
parallel=()
serial=()
for s in "${steps[@]}"; do
  if [[ $PARALLEL_STEPS == *" $s "* ]]; then parallel+=("$s"); else serial+=("$s"); fi
done
if [ ${#parallel[@]} -gt 0 ]; then
  echo "=== running in parallel ($JOBS at a time): ${parallel[*]}"
  for s in "${parallel[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    ( run_step "$s" > "$RESULTS/$s.log" 2>&1 ) &
  done
  wait
  for s in "${parallel[@]}"; do
    echo "=== $s"
    cat "$RESULTS/$s.log"
    report_step "$s"
  done
fi
for s in "${serial[@]}"; do
  echo "=== $s"
  run_step "$s"
  report_step "$s"
done

# --- summary ---------------------------------------------------------------

passed=0 failed=0 skipped=0 xfailed=0 xpassed=0 deselected=0
failed_steps=()
times=()
for s in "${steps[@]}"; do
  if read -r status p f s_ xf xp d secs < "$RESULTS/$s.result" 2>/dev/null; then
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s_))
    xfailed=$((xfailed + xf)); xpassed=$((xpassed + xp)); deselected=$((deselected + d))
    times+=("$s ${secs}s")
    [ "$status" = ok ] || failed_steps+=("$s")
  else
    failed=$((failed + 1)); failed_steps+=("$s"); times+=("$s ?")
  fi
done
narrowed=()
[ ${#requested[@]} -eq 0 ] || narrowed+=("steps: ${steps[*]}")
[ -z "${FUEL_INTEGRATION_ARGS:-}" ] || narrowed+=("FUEL_INTEGRATION_ARGS=\"$FUEL_INTEGRATION_ARGS\"")
[ "$deselected" -eq 0 ] || narrowed+=("$deselected deselected")

echo
echo "step times: ${times[*]}; total $((SECONDS - started)) s"
[ ${#failed_steps[@]} -eq 0 ] || echo "failed steps: ${failed_steps[*]}"
echo "summary: $passed passed, $failed failed, $skipped skipped, $xfailed xfailed, $xpassed xpassed" \
  "(xpassed counted as failed)"
if [ ${#narrowed[@]} -gt 0 ]; then
  joined=$(IFS=';'; echo "${narrowed[*]}")
  echo "narrowed run: ${joined//;/; }"
else
  echo "full run: every step, nothing deselected"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#failed_steps[@]} -eq 0 ]
