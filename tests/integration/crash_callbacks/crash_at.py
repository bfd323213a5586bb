# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: SIGKILL the whole ansible-playbook process group at a task boundary.

``FUEL_CRASH_AT`` names a task; when that task starts (before any worker runs it), the
controller and every worker and SSH process of its process group are killed at once, as a
crash or an operator's ``kill -9`` would. ``FUEL_CRASH_LOG`` receives one line per task
started, so the test knows how far each run got.
"""

from __future__ import absolute_import, division, print_function

import os
import signal

from ansible.plugins.callback import CallbackBase

__metaclass__ = type

DOCUMENTATION = """
name: crash_at
type: aggregate
short_description: kill the run at a named task (tests only)
description: Kills the ansible-playbook process group when the task named by FUEL_CRASH_AT starts.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "crash_at"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        # a role's task is named "<role> : <name>"; the test names tasks as its YAML does
        name = task.get_name().split(" : ", 1)[-1]
        log = os.environ.get("FUEL_CRASH_LOG")
        if log:
            with open(log, "a") as handle:
                handle.write(name + "\n")
        if name == os.environ.get("FUEL_CRASH_AT"):
            os.killpg(os.getpgrp(), signal.SIGKILL)
