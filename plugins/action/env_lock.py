# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of env_lock: records which controller process holds the lock.

Fills ``controller_host`` (this controller's host name) and ``controller_pid``
(the ``ansible-playbook`` process: the parent of the worker process running
this task) unless the task sets them, then runs the module on the lock host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
import socket

from ansible.plugins.action import ActionBase


def controller_pid():
    """Process id of the ansible-playbook run: tasks execute in worker processes forked from it."""
    if multiprocessing.current_process().name != "MainProcess":
        return os.getppid()
    return os.getpid()


class ActionModule(ActionBase):
    """Run env_lock with the controller's identity added."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if not args.get("controller_host"):
            args["controller_host"] = socket.gethostname()
        if args.get("controller_pid") in (None, ""):
            args["controller_pid"] = controller_pid()
        result.update(self._execute_module(module_name="fuel.lifecycle.env_lock", module_args=args,
                                           task_vars=task_vars))
        return result
