# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""yum plugin (EL 7) of fuel.lifecycle's release status: warn (strict: refuse) before a flagged version installs.

Reads only the local cache ``fuel-release-status refresh`` keeps, never the network. Configured by
/etc/yum/pluginconf.d/fuel_release_status.conf (``library``, ``config``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import sys

from yum.plugins import TYPE_CORE, PluginYumExit  # pylint: disable=import-error

requires_api_version = "2.3"  # pylint: disable=invalid-name
plugin_type = (TYPE_CORE,)  # pylint: disable=invalid-name


def package_version(po):
    version = "%s-%s" % (po.version, po.release)
    return version if str(po.epoch) in ("0", "", "None") else "%s:%s" % (po.epoch, version)


def postresolve_hook(conduit):
    try:
        library = conduit.confString("main", "library", default="/usr/local/lib/fuel-release-status")
        config_path = conduit.confString("main", "config", default="/etc/fuel-release-status/config.json")
        if library not in sys.path:
            sys.path.insert(0, library)
        import fuel_release_status as frs  # pylint: disable=import-error,import-outside-toplevel
        config = frs.load_config(config_path)
        status = frs.cached_status(config)
        hits = []
        for member in conduit.getTsInfo().getMembers():
            if member.ts_state not in ("i", "u"):
                continue
            entry = frs.flagged(status, member.po.name, package_version(member.po))
            if entry:
                hits.append(frs.warning_line(entry, member.po.name, package_version(member.po), config["strict"]))
    except Exception as exc:  # pylint: disable=broad-except
        sys.stderr.write("fuel-release-status: the check did not run: %s\n" % exc)
        return
    for line in hits:
        sys.stderr.write(line + "\n")
    if hits and config["strict"]:
        raise PluginYumExit("fuel-release-status: flagged package versions refused (strict mode)")
