"""Command line of the lab: ``python -m lab up|down|status``.

State (keys, node overlays, inventory, mirror pid) lives in FUEL_LAB_STATE
(default ``.lab/default`` in the checkout); built roots, layers and fixture
repositories are cached in FUEL_LAB_CACHE (default ``~/.cache/fuel-lifecycle-lab``).
"""

import argparse
import os
import signal
import sys
import time

import yaml

from lab import fixtures, nodes, vm, vm_master
from lab.common import (STATE_DIR, free_port, kill_rooted_in, load_json, log, mounts_under, pid_alive,
                        save_json, unmount_all, wait_port, write_file)


def topology(args):
    """Node list: the RPM host as the master, then the environment's nodes."""
    wanted = []
    for index in range(args.rpm):
        wanted.append({"name": "master" if index == 0 else "rpm-%d" % (index + 1), "flavor": "rpm",
                       "groups": ["fuel_master", "rpm_hosts"]})
    for index in range(args.controllers):
        wanted.append({"name": "ctrl-%d" % (index + 1), "flavor": "apt", "groups": ["controller"],
                       "primary": index == 0})
    for index in range(args.computes):
        wanted.append({"name": "cmp-%d" % (index + 1), "flavor": "apt", "groups": ["compute"]})
    for index in range(args.legacy):
        wanted.append({"name": "legacy-%d" % (index + 1), "flavor": "legacy", "groups": ["compute"]})
    return wanted


def render_inventory(state, key_path, legacy=False):
    """YAML inventory: fuel_master, env_<id> with controller and compute children.

    The main inventory (ansible-core 2.21) leaves the legacy nodes out: their
    Python 2.7 is beyond what 2.17+ can drive. The legacy inventory
    (``legacy=True``, for ansible-core 2.16) holds them in env_<id> and in
    group ``legacy`` together with the modern nodes.
    """
    env_group = "env_%s" % state["env_id"]
    groups = {"fuel_master": {}, "rpm_hosts": {}, "controller": {}, "compute": {}, "legacy": {}}
    for node in state["nodes"]:
        if node["flavor"] == "legacy" and not legacy:
            continue
        host = {"ansible_host": "127.0.0.1", "ansible_port": node["port"],
                "fuel_lab_flavor": node["flavor"]}
        if node["flavor"] == "legacy":
            host["ansible_python_interpreter"] = "/usr/bin/python2.7"
            groups["legacy"].setdefault("hosts", {})[node["name"]] = {}
        if node["flavor"] == "rpm":
            # A Debian userland carrying dnf and rpm: its facts say apt.
            host["fuel_lifecycle_package_manager"] = "rpm"
        if node.get("primary"):
            host["fuel_primary_controller"] = True
        for group in node["groups"]:
            groups[group].setdefault("hosts", {})[node["name"]] = dict(host)
    children = {
        "fuel_master": groups["fuel_master"],
        "rpm_hosts": groups["rpm_hosts"],
        env_group: {"children": {"controller": groups["controller"], "compute": groups["compute"]}},
    }
    if legacy:
        children["legacy"] = groups["legacy"]
    return {"all": {
        "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": key_path,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                       "-o LogLevel=ERROR",
            "ansible_python_interpreter": "/usr/bin/python3",
            "fuel_lab_mirror_url": state["mirror_url"],
            "fuel_lab_release": state["release"],
        },
        "children": children,
    }}


def ensure_mirror(state, www):
    running = state.get("mirror_pid") and pid_alive(state["mirror_pid"])
    if running and state.get("www") == www and wait_port(state["mirror_port"], 2):
        return
    if running:
        # The fixtures were rebuilt: serve the new web root on the same port.
        os.kill(state["mirror_pid"], signal.SIGTERM)
        deadline = time.monotonic() + 5
        while pid_alive(state["mirror_pid"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    port = state.get("mirror_port") or free_port()
    server = nodes.MirrorServer(www, port, os.path.join(STATE_DIR, "mirror.log"))
    state.update(mirror_pid=server.start(), mirror_port=port, mirror_url=server.url)


def cmd_up(args):
    started = time.monotonic()
    os.makedirs(STATE_DIR, exist_ok=True)
    state = load_json(os.path.join(STATE_DIR, "state.json"), {"nodes": []})
    www = fixtures.build_www()
    layers = nodes.all_layers(www, legacy=args.legacy > 0)
    ensure_mirror(state, www)
    state.update(env_id=args.env_id, release=fixtures.load_definitions()["release"], www=www)
    key_path, public_key = nodes.key_pair(STATE_DIR)
    wanted = {node["name"]: node for node in topology(args)}
    for node in list(state["nodes"]):
        # Gone from the topology, or built on layers that were rebuilt since: start afresh.
        if node["name"] not in wanted or node.get("layers") != layers.get(node["flavor"]):
            nodes.stop_node(STATE_DIR, node["name"])
    ports = {node["name"]: node["port"] for node in state["nodes"]}
    state["nodes"] = []
    for name, node in wanted.items():
        node["port"] = ports.get(name) or free_port()
        node["layers"] = layers[node["flavor"]]
        nodes.start_node(STATE_DIR, node, layers[node["flavor"]], state["mirror_url"], public_key)
        state["nodes"].append(node)
        save_json(os.path.join(STATE_DIR, "state.json"), state)
    inventory = os.path.join(STATE_DIR, "inventory.yml")
    write_file(inventory, yaml.safe_dump(render_inventory(state, key_path), sort_keys=False))
    legacy_inventory = os.path.join(STATE_DIR, "legacy-inventory.yml")
    if args.legacy:
        write_file(legacy_inventory, yaml.safe_dump(render_inventory(state, key_path, legacy=True), sort_keys=False))
    elif os.path.exists(legacy_inventory):
        os.unlink(legacy_inventory)
    save_json(os.path.join(STATE_DIR, "state.json"), state)
    log("up: %d nodes, mirror %s, inventory %s (%.1f s)" % (
        len(state["nodes"]), state["mirror_url"], inventory, time.monotonic() - started))
    print(inventory)
    return 0


def cmd_down(_args):
    vm.vm_down(STATE_DIR, quiet=True)
    state = load_json(os.path.join(STATE_DIR, "state.json"), {"nodes": []})
    for node in state["nodes"]:
        nodes.stop_node(STATE_DIR, node["name"])
    nodes_dir = os.path.join(STATE_DIR, "nodes")
    if os.path.isdir(nodes_dir):
        for name in os.listdir(nodes_dir):
            nodes.stop_node(STATE_DIR, name)
    pid = state.get("mirror_pid")
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    kill_rooted_in(STATE_DIR)
    unmount_all(STATE_DIR)
    leftovers = mounts_under(STATE_DIR)
    for name in ("state.json", "inventory.yml", "legacy-inventory.yml"):
        path = os.path.join(STATE_DIR, name)
        if os.path.exists(path):
            os.unlink(path)
    if leftovers:
        log("down: still mounted: %s" % ", ".join(leftovers))
        return 1
    log("down: nothing left running or mounted under %s" % STATE_DIR)
    return 0


def cmd_reset(args):
    """Give nodes a fresh root (drop their overlay's upper layer) and restart them."""
    state = load_json(os.path.join(STATE_DIR, "state.json"))
    if not state:
        log("reset: the lab is down")
        return 1
    www = state["www"]
    layers = nodes.all_layers(www, legacy=any(n["flavor"] == "legacy" for n in state["nodes"]))
    _key_path, public_key = nodes.key_pair(STATE_DIR)
    by_name = {node["name"]: node for node in state["nodes"]}
    unknown = [name for name in args.nodes if name not in by_name]
    if unknown:
        log("reset: unknown nodes: %s" % ", ".join(unknown))
        return 2
    for name in args.nodes or list(by_name):
        nodes.stop_node(STATE_DIR, name)
        nodes.start_node(STATE_DIR, by_name[name], layers[by_name[name]["flavor"]], state["mirror_url"], public_key)
    return 0


def cmd_status(_args):
    state = load_json(os.path.join(STATE_DIR, "state.json"))
    if not state:
        print("lab is down (%s)" % STATE_DIR)
        return 1
    mirror_ok = bool(state.get("mirror_pid")) and pid_alive(state["mirror_pid"])
    print("mirror  %-28s %s" % (state["mirror_url"], "up" if mirror_ok else "DOWN"))
    healthy = mirror_ok
    for node in state["nodes"]:
        root = nodes.node_paths(STATE_DIR, node["name"])["root"]
        alive = nodes.sshd_pid(root) is not None
        healthy = healthy and alive
        print("%-7s %-6s 127.0.0.1:%-6d %-28s %s" % (
            node["name"], node["flavor"], node["port"], ",".join(node["groups"]), "up" if alive else "DOWN"))
    print("inventory %s" % os.path.join(STATE_DIR, "inventory.yml"))
    if any(node["flavor"] == "legacy" for node in state["nodes"]):
        print("legacy inventory %s (ansible-core 2.16)" % os.path.join(STATE_DIR, "legacy-inventory.yml"))
    return 0 if healthy else 1


def cmd_vm_up(args):
    state = vm.vm_up(timeout=args.timeout)
    print(state["inventory"])
    return 0


def cmd_vm_down(_args):
    return vm.vm_down()


def cmd_vm_status(_args):
    state = vm.vm_status()
    if not state:
        print("vm is down (%s)" % vm.vm_dir())
        return 1
    running = "up" if state["running"] else "DOWN"
    print("%-9s 127.0.0.1:%-6d pid %-7d %s" % (vm.HOST_NAME, state["port"], state["pid"], running))
    print("serial    %s" % state["serial_log"])
    print("inventory %s" % state["inventory"])
    return 0 if state["running"] else 1


def cmd_vm_master(args):
    vm_master.make_vm_master(STATE_DIR, args.mirror_state)
    return 0


def cmd_vm_image(_args):
    image = vm.build_image()
    print(image["image"])
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build (cached) and start the lab hosts")
    up.add_argument("--rpm", type=int, default=1, help="RPM hosts; the first is the master (default 1)")
    up.add_argument("--controllers", type=int, default=1, help="apt controllers, first is primary (default 1)")
    up.add_argument("--computes", type=int, default=2, help="apt computes (default 2)")
    up.add_argument("--legacy", type=int, default=1,
                    help="Debian 11 apt computes with Python 2.7 only, for ansible-core 2.16; "
                         "in legacy-inventory.yml only (default 1)")
    up.add_argument("--env-id", default="1", help="environment id: inventory group env_<id> (default 1)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop every lab process, unmount every lab root").set_defaults(func=cmd_down)
    reset = sub.add_parser("reset", help="give nodes a fresh root (all nodes when none is named)")
    reset.add_argument("nodes", nargs="*")
    reset.set_defaults(func=cmd_reset)
    sub.add_parser("status", help="show the lab hosts").set_defaults(func=cmd_status)
    vm_up = sub.add_parser("vm-up", help="boot the qemu VM (master-vm, real LVM) on a copy-on-write overlay")
    vm_up.add_argument("--timeout", type=int, default=600, help="seconds to wait for SSH (default 600)")
    vm_up.set_defaults(func=cmd_vm_up)
    sub.add_parser("vm-down", help="power the VM off, remove its overlay").set_defaults(func=cmd_vm_down)
    sub.add_parser("vm-status", help="show the VM").set_defaults(func=cmd_vm_status)
    sub.add_parser("vm-image", help="build (cached) the VM disk image only").set_defaults(func=cmd_vm_image)
    master = sub.add_parser("vm-master", help="make the running VM a deployed master (vendor repository, "
                                              "packages, services) served by the lab mirror")
    master.add_argument("--mirror-state", help="state dir of the lab whose mirror serves the VM (default: this one)")
    master.set_defaults(func=cmd_vm_master)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the lab mounts overlays and chroots: run it as root")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
