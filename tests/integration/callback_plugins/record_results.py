# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: write every task result and the play stats to a JSON file."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: record_results
type: aggregate
short_description: Record task results and stats as JSON for the lab tests
description:
  - Writes the results and the stats as JSON to the file named by the
    C(FUEL_RECORD_RESULTS) environment variable at the end of the run.
requirements:
  - enable in callbacks_enabled
"""


class CallbackModule(CallbackBase):
    """Collect results in memory, dump them once the playbook ends."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.results = []

    def _record(self, result, status):
        self.results.append({
            "host": result._host.get_name(),  # pylint: disable=protected-access
            "task": result._task.get_name(),  # pylint: disable=protected-access
            "action": result._task.action,  # pylint: disable=protected-access
            "status": status,
            "result": self._clean(result._result),  # pylint: disable=protected-access
        })

    @staticmethod
    def _clean(value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("FUEL_RECORD_RESULTS")
        if not path:
            return
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"results": self.results, "stats": summary}, handle, indent=1)
