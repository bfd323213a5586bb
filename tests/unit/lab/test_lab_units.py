# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning logic of the lab tool: fixture versions, builds, topology and inventory."""

from __future__ import annotations

import argparse

import pytest

from lab import cli, fixtures


@pytest.mark.parametrize("full, expected", [
    ("1.0-0mos1", (None, "1.0", "0mos1")),
    ("2:1.3~rc1-1+mos9.0+2", ("2", "1.3~rc1", "1+mos9.0+2")),
    ("1.0-2-3", (None, "1.0-2", "3")),
])
def test_split_version(full, expected):
    assert fixtures.split_version(full) == expected


def test_split_version_needs_a_revision():
    with pytest.raises(ValueError, match="revision"):
        fixtures.split_version("1.0")


def test_every_build_ships_its_version_file():
    definitions = {"packages": [{"name": "p", "summary": "s", "files": {"/usr/bin/p": "x"},
                                 "builds": [{"version": "1-1", "repos": ["a"]},
                                            {"version": "2-1", "repos": ["b"], "depends": ["q"]}]}]}
    first, second = fixtures.builds(definitions)
    assert first["files"] == {"/usr/bin/p": "x", "/usr/share/fuel-lab/p.version": "{version}\n"}
    assert "depends" not in first and second["depends"] == ["q"]


def test_definitions_reference_known_repos():
    definitions = fixtures.load_definitions()
    for build in fixtures.builds(definitions):
        assert set(build["repos"]) <= set(definitions["repos"]), build["name"]


def test_legacy_node_only_in_the_legacy_inventory():
    nodes = cli.topology(argparse.Namespace(rpm=1, controllers=1, computes=1, legacy=1))
    assert [(n["name"], n["flavor"]) for n in nodes][-1] == ("legacy-1", "legacy")
    for port, node in enumerate(nodes, 2000):
        node["port"] = port
    state = {"env_id": "1", "nodes": nodes, "mirror_url": "http://127.0.0.1:1", "release": "9.0"}
    main = cli.render_inventory(state, "/k")["all"]
    assert "legacy-1" not in repr(main) and "legacy" not in main["children"]
    legacy = cli.render_inventory(state, "/k", legacy=True)["all"]
    computes = legacy["children"]["env_1"]["children"]["compute"]["hosts"]
    assert sorted(computes) == ["cmp-1", "legacy-1"]
    assert computes["legacy-1"]["ansible_python_interpreter"] == "/usr/bin/python2.7"
    assert "ansible_python_interpreter" not in computes["cmp-1"]  # the group default: python3
    assert list(legacy["children"]["legacy"]["hosts"]) == ["legacy-1"]
    assert legacy["children"]["env_1"]["children"]["controller"] == main["children"]["env_1"]["children"][
        "controller"]


def test_topology_and_inventory_groups():
    args = argparse.Namespace(rpm=1, controllers=2, computes=1, legacy=0)
    nodes = cli.topology(args)
    assert [n["name"] for n in nodes] == ["master", "ctrl-1", "ctrl-2", "cmp-1"]
    for port, node in enumerate(nodes, 2000):
        node["port"] = port
    state = {"env_id": "7", "nodes": nodes, "mirror_url": "http://127.0.0.1:1", "release": "9.0"}
    inventory = cli.render_inventory(state, "/k")["all"]
    env = inventory["children"]["env_7"]["children"]
    assert list(env["controller"]["hosts"]) == ["ctrl-1", "ctrl-2"]
    assert env["controller"]["hosts"]["ctrl-1"]["fuel_primary_controller"] is True
    assert "fuel_primary_controller" not in env["controller"]["hosts"]["ctrl-2"]
    assert inventory["children"]["fuel_master"]["hosts"]["master"]["fuel_lifecycle_package_manager"] == "rpm"
