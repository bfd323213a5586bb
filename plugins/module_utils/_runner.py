# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way for every module to run a command.

``CommandRunner(module)``: binaries resolved once with ``get_bin_path``, the C
locale set once for every command, argv lists only, the return code always
handled by the caller (never ``check_rc``), and commands that change the host
skipped in check mode. An instance is also a plain callable
``runner(argv) -> (rc, stdout, stderr)``, the shape the planning code in
module_utils takes, so the same code runs with the real runner on the node and
with recorded output in unit tests.

Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

try:
    TEXT_TYPE = unicode  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPE = str

C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}


class MissingCommand(Exception):
    """A command the module needs is not installed; the message names it."""

    def __init__(self, name, purpose=""):
        self.name = name
        needed = " (needed to %s)" % purpose if purpose else ""
        Exception.__init__(self, "command %s not found on the host%s" % (name, needed))


class CommandRunner(object):
    """Runs argv lists through ``module.run_command`` with the C locale."""

    def __init__(self, module, environ=None, opt_dirs=None):
        self.module = module
        self.environ = dict(C_LOCALE)
        self.environ.update(environ or {})
        self.opt_dirs = list(opt_dirs or ["/usr/sbin", "/sbin"])
        self._paths = {}
        self.calls = []
        module.run_command_environ_update = dict(self.environ)

    def binary(self, name, required=True, purpose=""):
        """Absolute path of ``name`` (cached); None when absent and not ``required``."""
        if os.path.isabs(name):
            return name
        if name not in self._paths:
            self._paths[name] = self.module.get_bin_path(name, required=False, opt_dirs=self.opt_dirs)
        if self._paths[name] is None and required:
            raise MissingCommand(name, purpose)
        return self._paths[name]

    def run(self, argv, data=None, changes=False, environ=None, cwd=None, binary_data=False):
        """Run ``argv``; returns (rc, stdout, stderr). ``changes=True`` commands are skipped in check mode."""
        if not isinstance(argv, (list, tuple)) or not argv:
            raise ValueError("a command is a non-empty argv list")
        argv = [self.binary(argv[0])] + [arg if isinstance(arg, (str, TEXT_TYPE)) else str(arg) for arg in argv[1:]]
        if changes and self.module.check_mode:
            self.calls.append({"argv": argv, "skipped": "check mode"})
            return 0, "", ""
        env = dict(self.environ)
        env.update(environ or {})
        rc, out, err = self.module.run_command(argv, check_rc=False, data=data, environ_update=env, cwd=cwd,
                                               binary_data=binary_data)
        self.calls.append({"argv": argv, "rc": rc})
        return rc, out, err

    def __call__(self, argv):
        return self.run(argv)


def tail(text, lines=20):
    """The last lines of a command's output, what a failure message shows."""
    parts = (text or "").rstrip("\n").splitlines()
    return "\n".join(parts[-lines:])
