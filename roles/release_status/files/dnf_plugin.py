# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnf plugin of fuel.lifecycle's release status: warn (strict: refuse) before a flagged version installs.

Reads only the local cache ``fuel-release-status refresh`` keeps (the status
source is never contacted here), so an unreachable source never blocks dnf.
Configured by /etc/dnf/plugins/fuel_release_status.conf (``library``: the
directory holding fuel_release_status.py, ``config``: its configuration).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import sys

import dnf  # pylint: disable=import-error
import dnf.exceptions  # pylint: disable=import-error


class FuelReleaseStatus(dnf.Plugin):
    name = "fuel_release_status"

    def __init__(self, base, cli):
        dnf.Plugin.__init__(self, base, cli)
        self.library = "/usr/local/lib/fuel-release-status"
        self.config_path = "/etc/fuel-release-status/config.json"

    def config(self):
        parser = self.read_config(self.base.conf)
        if parser.has_section("main"):
            if parser.has_option("main", "library"):
                self.library = parser.get("main", "library")
            if parser.has_option("main", "config"):
                self.config_path = parser.get("main", "config")

    def resolved(self):
        try:
            if self.library not in sys.path:
                sys.path.insert(0, self.library)
            import fuel_release_status as frs  # pylint: disable=import-error,import-outside-toplevel
            config = frs.load_config(self.config_path)
            status = frs.cached_status(config)
            hits = []
            for package in self.base.transaction.install_set:
                entry = frs.flagged(status, package.name, package.evr)
                if entry:
                    hits.append(frs.warning_line(entry, package.name, package.evr, config["strict"]))
        except Exception as exc:  # pylint: disable=broad-except
            sys.stderr.write("fuel-release-status: the check did not run: %s\n" % exc)
            return
        for line in hits:
            sys.stderr.write(line + "\n")
        if hits and config["strict"]:
            raise dnf.exceptions.Error("fuel-release-status: flagged package versions refused (strict mode)")
