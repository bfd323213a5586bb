#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upgrade state of one environment on its lock host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: env_upgrade_state
short_description: Upgrade state of one environment (upgrade, per-node status, history) on its lock host
version_added: 0.2.0
description:
  - Keeps the in-place upgrade of one environment to a new major release in one
    JSON record on the environment's lock host (its primary controller). It holds the
    environment status (V(upgrade), V(finished), V(aborted)), the target release,
    which run drives the upgrade, each node's status (V(pending), V(upgrading),
    V(done), V(failed)) with its release, and a history that is only appended to.
  - O(state=begin) puts the environment in V(upgrade) with every listed node
    V(pending). It is refused when the target release is not set, when a node is not
    V(ready) or has running tasks, or when the environment is already in V(upgrade)
    to another release or another run holds it. The same target release again,
    once no run holds it, resumes the upgrade (failed and interrupted nodes are
    upgraded again, done nodes are kept); nodes not part of the upgrade are refused.
  - O(state=guard) fails while the environment is in V(upgrade), naming the state,
    the holder and since when; other operations (maintenance updates, repository
    changes) call it first.
  - O(state=node) moves one node on (V(upgrading), V(done), V(failed)); only the run
    that holds the upgrade may do it. O(state=release) lets go of the run (the
    environment stays in V(upgrade)). O(state=finish) ends the upgrade when every
    node is V(done); O(state=abort) ends it without that (nodes keep what they
    have; see C(docs/env-upgrade.md)).
  - Every request is decided on the record as read before anything is written; a
    refused request changes nothing. Writes take an C(flock) on O(path)C(.lock), read
    and decide again, and replace the record atomically.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  path:
    description: The state record on the lock host.
    type: path
    default: /var/lib/fuel-lifecycle/env-upgrade.json
  state:
    description: The request.
    type: str
    choices: [query, guard, begin, node, release, finish, abort]
    default: query
  env:
    description:
      - Environment id. Required with O(state=begin) on an environment without a record;
        when given, a record of another environment is refused.
    type: str
  owner:
    description: Identity of this run (AWX job, user and time); required except for V(query) and V(guard).
    type: str
  target_release:
    description: Release the environment moves to (O(state=begin)).
    type: str
  nodes:
    description:
      - The environment's nodes in upgrade order (O(state=begin)), each a dict with
        C(name) (required, the inventory hostname), C(group) (stage or role group,
        default C(other)), C(status) (its deployment status, default C(ready); only
        C(ready) may start, C(error) too for a node whose upgrade failed before), C(busy)
        (tasks running on it, for instance lock files found; any refuses the start) and
        C(release) (the release it runs now).
    type: list
    elements: raw
  node:
    description: The node of O(state=node).
    type: str
  node_status:
    description: New status of O(node).
    type: str
    choices: [upgrading, done, failed]
  node_ready:
    description: Deployment status of O(node) when it moves to V(upgrading) (see O(nodes)).
    type: str
    default: ready
  busy:
    description: Tasks running on O(node) when it moves to V(upgrading); any refuses it.
    type: list
    elements: str
    default: []
  release:
    description: Release O(node) runs now (recorded with V(done)).
    type: str
  operation:
    description: What O(state=guard) protects, named in its refusal (for instance C(mu_install)).
    type: str
  reason:
    description: Why (a failed node's error, the reason of an abort or a release); kept in the history.
    type: str
  force:
    description:
      - Act although another run holds the upgrade (a run known to be dead). Never needed
        to resume after a failed run, which lets go of the upgrade itself.
    type: bool
    default: false
  lock_timeout:
    description: Seconds to wait for the record's lock.
    type: float
    default: 60
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: [posix]
notes:
  - V(query) and V(guard) only read; they never report a change.
seealso:
  - module: fuel.lifecycle.env_lock
"""

EXAMPLES = r"""
- name: Begin the upgrade of environment 1 to 10.0
  fuel.lifecycle.env_upgrade_state:
    state: begin
    env: "1"
    owner: "awx-job-{{ awx_job_id }}"
    target_release: "10.0"
    nodes:
      - {name: ctrl-1, group: primary, release: "9.0"}
      - {name: ctrl-2, group: controller, release: "9.0"}
      - {name: cmp-1, group: compute, release: "9.0", busy: []}

- name: Refuse a maintenance update while the environment is upgraded
  fuel.lifecycle.env_upgrade_state:
    state: guard
    operation: mu_install

- name: Record a node done on the new release
  fuel.lifecycle.env_upgrade_state:
    state: node
    owner: "awx-job-{{ awx_job_id }}"
    node: cmp-1
    node_status: done
    release: "10.0"

- name: End the upgrade (every node done)
  fuel.lifecycle.env_upgrade_state:
    state: finish
    owner: "awx-job-{{ awx_job_id }}"
"""

RETURN = r"""
status:
  description: Environment status after the request (V(upgrade), V(finished), V(aborted)), null without record.
  returned: always
  type: str
  sample: upgrade
upgrading:
  description: True while the environment is in V(upgrade).
  returned: always
  type: bool
env:
  description: Environment id of the record.
  returned: always
  type: str
target_release:
  description: Release the upgrade moves to.
  returned: always
  type: str
  sample: "10.0"
release:
  description: Release of the environment (the source release until V(finish), the target after).
  returned: always
  type: str
since:
  description: When the upgrade began (UTC).
  returned: always
  type: str
  sample: "2026-12-01T03:00:00Z"
run:
  description: The run holding the upgrade (owner, since), null when none.
  returned: always
  type: dict
holder:
  description: Who holds the environment, as the refusals name it; null when not in V(upgrade).
  returned: always
  type: str
nodes:
  description: Per node its status, group, release, order and since (and the error of a failed node).
  returned: always
  type: dict
  sample: {cmp-1: {status: failed, group: compute, release: "9.0", order: 3, since: "2026-12-01T03:01:00Z",
                   message: "apt failed"}}
todo:
  description: Nodes not done yet, in upgrade order.
  returned: always
  type: list
  elements: str
counts:
  description: Number of nodes per status.
  returned: always
  type: dict
history_length:
  description: Number of events in the history.
  returned: always
  type: int
message:
  description: What the request did.
  returned: always
  type: str
record:
  description: The whole record (null when none).
  returned: with state query
  type: dict
path:
  description: The state record.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _env_upgrade as upgrade
from ansible_collections.fuel.lifecycle.plugins.module_utils import _files as files


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/var/lib/fuel-lifecycle/env-upgrade.json"},
            "state": {"type": "str", "default": "query", "choices": list(upgrade.ACTIONS)},
            "env": {"type": "str"},
            "owner": {"type": "str"},
            "target_release": {"type": "str"},
            "nodes": {"type": "list", "elements": "raw"},
            "node": {"type": "str"},
            "node_status": {"type": "str", "choices": ["upgrading", "done", "failed"]},
            "node_ready": {"type": "str", "default": "ready"},
            "busy": {"type": "list", "elements": "str", "default": []},
            "release": {"type": "str"},
            "operation": {"type": "str"},
            "reason": {"type": "str"},
            "force": {"type": "bool", "default": False},
            "lock_timeout": {"type": "float", "default": 60},
        },
        required_if=[("state", "begin", ("owner",)), ("state", "node", ("owner", "node", "node_status")),
                     ("state", "release", ("owner",)), ("state", "finish", ("owner",)),
                     ("state", "abort", ("owner",))],
        supports_check_mode=True,
    )
    try:
        result = upgrade.execute(module.params, module.check_mode)
    except upgrade.Refused as exc:
        module.fail_json(msg=str(exc), refused=True)
    except upgrade.BadInput as exc:
        module.fail_json(msg=str(exc))
    except files.FileProblem as exc:
        module.fail_json(msg="upgrade state: %s" % exc, path=exc.path)
    except (IOError, OSError) as exc:
        module.fail_json(msg="upgrade state %s: %s" % (module.params["path"], exc))
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
