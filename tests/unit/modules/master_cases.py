"""Whole-module unit tests as data for the master-upgrade modules.

A case file (``<module>.yaml`` next to the test) is a list of cases:

``id``            name of the case
``params``        module parameters; ``{tmp}`` is the case's scratch directory
``files``         files made under ``{tmp}`` first: path -> text, ``{json: ...}``,
                  ``{dir: true}``, ``{hex: "..."}``, ``{link: target}``
``check_mode``, ``diff``
``commands``      the exact argv and (rc, stdout, stderr) of each command, in order
``responses``     instead of ``commands``: command name -> list of (rc, stdout, stderr),
                  the last one repeated (for commands sampled a varying number of times)
``expect``        keys the result must have with these values (``{tmp}`` substituted)
``msg``           a text the failure message must contain (the case must fail)
``msg_not``       texts the failure message must not contain
``tree``          ``unchanged`` (the scratch tree byte-identical afterwards) or ``changed``
``second_run``    ``unchanged``: a second run with the same input reports no change and
                  leaves the tree byte-identical
``after``         path -> text, ``{json: subset}``, ``absent``, ``{mode: 0o...}``: files afterwards
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import shutil
import subprocess
from unittest import mock

import yaml

from ansible.module_utils import basic
from module_harness import Commands, run_module, tree_digest


def load(path):
    with open(path, encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    return [(case["id"], case) for case in cases]


def sub(value, tmp):
    if isinstance(value, str):
        return value.replace("{tmp}", tmp)
    if isinstance(value, list):
        return [sub(item, tmp) for item in value]
    if isinstance(value, dict):
        return {sub(key, tmp): sub(item, tmp) for key, item in value.items()}
    return value


def make_files(tmp, files):
    for rel, content in (files or {}).items():
        path = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, dict) and content.get("dir"):
            os.makedirs(path, exist_ok=True)
        elif isinstance(content, dict) and "link" in content:
            os.symlink(content["link"], path)
        elif isinstance(content, dict) and "json" in content:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(sub(content["json"], tmp), handle)
        elif isinstance(content, dict) and "hex" in content:
            with open(path, "wb") as handle:
                handle.write(binascii.unhexlify(content["hex"]))
        else:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(sub(content, tmp))
        if isinstance(content, dict) and "mode" in content:
            os.chmod(path, content["mode"])


class Responses:
    """run_command answered by command name; the last answer of each repeats."""

    def __init__(self, table):
        self.table = {name: [tuple(answer) for answer in answers] for name, answers in table.items()}
        self.seen = []

    def __call__(self, _module_self, argv, *args, **kwargs):
        name = os.path.basename(argv[0])
        self.seen.append([name] + list(argv[1:]))
        if name not in self.table:
            raise AssertionError("unexpected command %r" % (argv,))
        answers = self.table[name]
        return answers.pop(0) if len(answers) > 1 else answers[0]


class RealToo:
    """Commands named in ``real`` run for real (a stand-in createrepo); the others are replayed."""

    def __init__(self, real, replay):
        self.real, self.replay = real, replay

    def __call__(self, module_self, argv, *args, **kwargs):
        if os.path.basename(argv[0]) in self.real:
            proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
            return proc.returncode, proc.stdout, proc.stderr
        return self.replay(module_self, argv, *args, **kwargs)


@contextlib.contextmanager
def fakes(case, tmp):
    """Context manager replaying the case's commands (get_bin_path answers /usr/bin/<name>).

    Commands named in ``real_commands`` run for real; every recorded command must have run.
    """
    if "responses" in case:
        replay = Responses(sub(case["responses"], tmp))
    else:
        replay = Commands([(argv, tuple(answer)) for argv, answer in sub(case.get("commands") or [], tmp)])
    real = case.get("real_commands") or []
    missing = case.get("missing_binaries", [])
    both = RealToo(real, replay)

    def run_command(module_self, argv, *args, **kwargs):  # a function, so it binds like the real method
        return both(module_self, argv, *args, **kwargs)

    def get_bin_path(_self, name, required=False, opt_dirs=None):
        if name in missing:
            return None
        return shutil.which(name) if name in real else "/usr/bin/%s" % name

    patcher = mock.patch.multiple(basic.AnsibleModule, run_command=run_command, get_bin_path=get_bin_path)
    patcher.start()
    try:
        yield replay
    finally:
        patcher.stop()
    if isinstance(replay, Commands) and replay.expected:
        raise AssertionError("commands not run: %r" % ([pair[0] for pair in replay.expected],))


def check_after(tmp, after):
    for rel, want in (after or {}).items():
        path = os.path.join(tmp, rel)
        if want == "absent":
            assert not os.path.lexists(path), "%s should be absent" % rel
            continue
        assert os.path.lexists(path), "%s is missing" % rel
        if isinstance(want, dict) and "json" in want:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            for key, value in sub(want["json"], tmp).items():
                assert data.get(key) == value, (rel, key, data.get(key), value)
        elif isinstance(want, dict) and "mode" in want:
            assert os.stat(path).st_mode & 0o7777 == want["mode"], (rel, oct(os.stat(path).st_mode))
        elif isinstance(want, dict) and "listing" in want:
            assert sorted(os.listdir(path)) == sorted(want["listing"]), (rel, sorted(os.listdir(path)))
        else:
            with open(path, encoding="utf-8") as handle:
                assert handle.read() == sub(want, tmp), rel


def run_case(main, case, tmp_path):
    tmp = str(tmp_path)
    make_files(tmp, case.get("files"))
    params = sub(case["params"], tmp)
    before = tree_digest(tmp)
    with fakes(case, tmp):
        result = run_module(main, params, check_mode=case.get("check_mode", False), diff=case.get("diff", False))
    if "msg" in case:
        assert result.get("failed"), "expected a failure: %r" % result
        assert sub(case["msg"], tmp) in result["msg"], (case["msg"], result["msg"])
        for text in case.get("msg_not", []):
            assert text not in result["msg"], (text, result["msg"])
    else:
        assert not result.get("failed"), result
    for key, value in sub(case.get("expect") or {}, tmp).items():
        assert result.get(key) == value, "%s: %r, expected %r" % (key, result.get(key), value)
    after = tree_digest(tmp)
    if case.get("tree") == "unchanged" or result.get("failed") and case.get("tree") != "changed":
        assert after == before, "tree changed: %r" % sorted(set(after.items()) ^ set(before.items()))
    elif case.get("tree") == "changed":
        assert after != before, "tree did not change"
    check_after(tmp, case.get("after"))
    if case.get("second_run") == "unchanged":
        second_case = dict(case, commands=case.get("second_commands", case.get("commands")))
        with fakes(second_case, tmp):
            again = run_module(main, params, check_mode=case.get("check_mode", False), diff=case.get("diff", False))
        assert not again.get("failed") and again["changed"] is False, again
        assert tree_digest(tmp) == after, "second run changed the tree"
    return result
