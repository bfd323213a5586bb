"""Run a module's real ``main()`` in-process, the way Ansible runs it on a node.

``run_module(main, params, check_mode=False, diff=False)`` returns the result
dict the module printed (``failed`` set when it called ``fail_json``), or
raises ``ModuleCrashed`` with the traceback when the module ended in anything
but ``exit_json``/``fail_json``: the property tests assert that never happens.

``tree_digest(root)`` maps every path under ``root`` to (type, mode, content
hash or link target): a failed run must leave it byte-identical, and an
idempotent second run must too.

``Commands`` replays recorded command output for whole-module unit tests as
data: each expected call's exact argv and its (rc, stdout, stderr).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import sys
import traceback
from unittest import mock

from ansible.module_utils import basic


class ModuleCrashed(AssertionError):
    """The module ended in a Python traceback."""


@contextlib.contextmanager
def module_args(params, check_mode=False, diff=False, tmpdir=None):
    args = dict(params)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = diff
    if tmpdir:
        args["_ansible_tmpdir"] = tmpdir
        args["_ansible_remote_tmp"] = tmpdir
        args["_ansible_keep_remote_files"] = False
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
    except ImportError:
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
        yield


def run_module(main, params, check_mode=False, diff=False, tmpdir=None):
    """Run ``main()`` with ``params``; the module's JSON result (``failed`` True on fail_json)."""
    out = io.StringIO()
    code = None
    with module_args(params, check_mode, diff, tmpdir), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        except BaseException:  # noqa: B036  a crash is what we are looking for
            raise ModuleCrashed("module crashed with params %r:\n%s" % (params, traceback.format_exc()))
    text = out.getvalue().strip()
    if not text:
        raise ModuleCrashed("module printed nothing (exit %r) with params %r" % (code, params))
    try:
        result = json.loads(text)
    except ValueError:
        try:
            result = json.loads(text.splitlines()[-1])
        except ValueError:
            raise ModuleCrashed("module printed no JSON result with params %r:\n%s" % (params, text)) from None
    if "exception" in result and "Traceback" in str(result.get("exception")):
        raise ModuleCrashed("module failed with a traceback with params %r:\n%s" % (params, result["exception"]))
    if code not in (0, None) and not result.get("failed"):
        raise ModuleCrashed("module exited %r without failing with params %r" % (code, params))
    return result


def tree_digest(root):
    """{relative path: (kind, mode, sha256 or link target)} of everything under ``root``."""
    digest = {}
    if not os.path.lexists(root):
        return digest
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(base, name)
            info = os.lstat(path)
            rel = os.path.relpath(path, root)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                digest[rel] = ("link", mode, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                digest[rel] = ("dir", mode, "")
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    digest[rel] = ("file", mode, hashlib.sha256(handle.read()).hexdigest())
            else:
                digest[rel] = ("other", mode, "")
    return digest


class Commands:
    """Replays recorded commands: ``Commands([(argv, (rc, out, err)), ...])`` patched into run_command.

    Each call must match the next expected argv exactly (argv[0] compared by
    base name, since binaries are resolved to absolute paths on the node).
    """

    def __init__(self, expected):
        self.expected = list(expected)
        self.seen = []

    def __call__(self, _module_self, argv, *args, **kwargs):  # signature of AnsibleModule.run_command
        argv = list(argv)
        shown = [os.path.basename(argv[0])] + argv[1:]
        self.seen.append(shown)
        if not self.expected:
            raise AssertionError("unexpected command %r" % (shown,))
        want, result = self.expected.pop(0)
        want = [os.path.basename(want[0])] + list(want[1:])
        if want != shown:
            raise AssertionError("command %r, expected %r" % (shown, want))
        return result

    @contextlib.contextmanager
    def patched(self, bins=None):
        """run_command replayed; get_bin_path answers /usr/bin/<name> (or what ``bins`` maps)."""
        bins = bins or {}

        def get_bin_path(_self, name, required=False, opt_dirs=None):
            if name in bins:
                return bins[name]
            return "/usr/bin/%s" % name

        with mock.patch.object(basic.AnsibleModule, "run_command", self), \
                mock.patch.object(basic.AnsibleModule, "get_bin_path", get_bin_path):
            yield self
        if self.expected:
            raise AssertionError("commands not run: %r" % ([entry[0] for entry in self.expected],))


def crashed(exc_info=None):
    """Format the current exception (for messages)."""
    return "".join(traceback.format_exception(*(exc_info or sys.exc_info())))
