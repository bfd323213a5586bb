"""fuel.lifecycle.nailgun against the recorded Nailgun API (lab/nailgun_api.py), through ansible-inventory."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

from lab.nailgun_api import RecordedNailgun, node_record, recorded_fixture

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
BIN = os.path.dirname(sys.executable)
PASSWORD = "recorded-secret-pw"


def inventory(tmp_path, api, extra=None, env=None, keystone="/v2.0"):
    """(rc, parsed --list output or None, stdout+stderr) of ansible-inventory over a nailgun.yml."""
    config = {"plugin": "fuel.lifecycle.nailgun", "url": api.url, "keystone_url": api.url + keystone,
              "username": "admin"}
    config.update(extra or {})
    path = tmp_path / "fuel.nailgun.yml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n[inventory]\nunparsed_is_failed = true\n")
    run_env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(CHECKOUT, "build", "collections"),
                   ANSIBLE_INVENTORY_ENABLED="fuel.lifecycle.nailgun", FUEL_PASSWORD=PASSWORD,
                   ANSIBLE_NOCOLOR="1")
    run_env.update(env or {})
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(path), "--list", "-vvvv"],
                          capture_output=True, text=True, env=run_env, cwd=str(tmp_path), check=False)
    data = None
    if proc.returncode == 0:
        start = proc.stdout.index("\n{") + 1
        data = json.loads(proc.stdout[start:], object_hook=_plain)
    return proc.returncode, data, proc.stdout + proc.stderr


def _plain(obj):
    """Values the plugin marks unsafe are written as {"__ansible_unsafe": value}."""
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def hosts(data, group):
    """Hosts of a group and its children."""
    found = set(data.get(group, {}).get("hosts", []))
    for child in data.get(group, {}).get("children", []):
        found |= hosts(data, child)
    return found


def test_groups_hostvars_and_paging(tmp_path):
    with RecordedNailgun(recorded_fixture()) as api:
        rc, data, output = inventory(tmp_path, api, {"page_size": 1})
        served = dict(api.served)
    assert rc == 0, output
    # Clusters page (Nailgun's CollectionHandler): one request per cluster; nodes do not (Fuel 9).
    assert served == {"clusters": 2, "nodes": 1}
    assert hosts(data, "fuel_master") == {"fuel-master"}
    assert hosts(data, "env_1") == {"node-1", "node-2", "node-3", "node-4", "node-6"}
    assert hosts(data, "env_2") == {"node-10", "node-11"}
    assert hosts(data, "controller") == {"node-1", "node-2", "node-3", "node-10"}
    assert hosts(data, "compute") == {"node-4", "node-6", "node-11"}
    assert hosts(data, "mongo") == {"node-3"} and hosts(data, "cinder") == {"node-4"}
    # Offline, not deployed, failed, unassigned and leaving nodes: only in groups of their own.
    assert hosts(data, "fuel_unavailable") == {"node-5", "node-7", "node-8", "node-9", "node-12"}
    assert hosts(data, "fuel_offline") == {"node-5"}
    assert hosts(data, "fuel_status_error") == {"node-8"}
    assert hosts(data, "fuel_status_discover") == {"node-7", "node-9"}
    assert hosts(data, "env_1_unavailable") == {"node-5", "node-7", "node-8"}
    assert hosts(data, "env_2_unavailable") == {"node-12"}
    assert hosts(data, "fuel_unassigned") == {"node-9"}
    assert not hosts(data, "base_os") and not hosts(data, "ceph_osd")
    # Pending roles: still a deployed compute, not yet a ceph-osd.
    assert hosts(data, "fuel_pending_roles") == {"node-6", "node-7"}
    hv = data["_meta"]["hostvars"]
    assert hv["node-6"]["fuel_node_pending_roles"] == ["ceph-osd"] and hv["node-6"]["fuel_node_roles"] == ["compute"]
    assert sorted(h for h in hv if hv[h].get("fuel_primary_controller")) == ["node-1", "node-10"]
    assert hv["node-4"]["ansible_host"] == "10.20.0.6"
    assert hv["fuel-master"]["ansible_host"] == "127.0.0.1"
    assert hv["node-5"]["fuel_node_online"] is False and hv["node-8"]["fuel_node_error_type"] == "deploy"
    assert hv["node-1"]["fuel_cluster_name"] == "prod"
    assert "ansible_ssh_common_args" not in hv["node-1"]


def test_paged_node_collection_and_one_environment(tmp_path):
    fixture = recorded_fixture()
    fixture["paging"]["nodes"] = True
    with RecordedNailgun(fixture) as api:
        rc, data, output = inventory(tmp_path, api, {"page_size": 2, "environments": [2]})
        served = dict(api.served)
    assert rc == 0, output
    assert served == {"clusters": 1, "nodes": 2}  # nodes of env 2: 3 objects in 2 pages
    assert hosts(data, "env_2") == {"node-10", "node-11"}
    assert not hosts(data, "env_1") and "node-1" not in data["_meta"]["hostvars"]


def test_more_nodes_than_many_pages(tmp_path):
    fixture = recorded_fixture()
    fixture["paging"]["nodes"] = True
    fixture["nodes"] += [node_record(i, 2, ["compute"], "10.20.1.%d" % (i - 100)) for i in range(101, 151)]
    with RecordedNailgun(fixture) as api:
        rc, data, output = inventory(tmp_path, api, {"page_size": 7})
        served = dict(api.served)
    assert rc == 0, output
    assert served["nodes"] == 9  # 62 nodes, 7 a page
    assert len(hosts(data, "compute")) == 3 + 50


def test_primary_controller_given(tmp_path):
    with RecordedNailgun(recorded_fixture()) as api:
        rc, data, output = inventory(tmp_path, api, {"primary_controllers": {1: 2}})
    assert rc == 0, output
    hv = data["_meta"]["hostvars"]
    assert sorted(h for h in hv if hv[h].get("fuel_primary_controller")) == ["node-10", "node-2"]


def test_token_given_and_keystone_v3(tmp_path):
    with RecordedNailgun(recorded_fixture()) as api:
        rc, data, output = inventory(tmp_path, api, {"token": "recorded-static-token", "username": None})
        assert rc == 0, output
        assert api.log[0] == {"method": "GET", "path": "/api/clusters", "token": True}  # no Keystone call
        rc, data, output = inventory(tmp_path, api, keystone="/v3")
        assert rc == 0, output
        assert api.log[-3]["path"] == "/v3/auth/tokens"
    assert hosts(data, "env_2") == {"node-10", "node-11"}


@pytest.mark.parametrize("extra,env,expect", [
    ({}, {"FUEL_PASSWORD": "wrong-password"}, "/v2.0/tokens refused the credentials (HTTP 401"),
    ({"token": "stale-token-value"}, {}, "/api/clusters refused the token (HTTP 401"),
    ({"username": None}, {"FUEL_PASSWORD": ""}, "no token and no username/password"),
    ({"url": "ftp://10.20.0.2/api"}, {}, "url: \"ftp://10.20.0.2/api\" is not an http(s) URL"),
    ({"keystone_url": "http://admin:stale-token-value@10.20.0.2:5000/v2.0"}, {}, "keystone_url: \"http://10.20.0.2:5000/v2.0\""),
])
def test_refused(tmp_path, extra, env, expect):
    with RecordedNailgun(recorded_fixture()) as api:
        rc, data, output = inventory(tmp_path, api, extra, env)
    assert rc != 0 and data is None
    assert expect in output, output
    for secret in ("wrong-password", PASSWORD, "stale-token-value"):
        assert secret not in output


@pytest.mark.parametrize("raw,node,expect", [
    ("<html><body>502 Bad Gateway</body></html>", None, "/api/nodes answered something that is not JSON"),
    ('{"nodes": []}', None, "/api/nodes answered a dict where a list of nodes was expected"),
    ("[1, 2]", None, "item 0 of nodes is a int, not an object"),
    (None, {"roles": "controller"}, "field 'roles' is \"controller\", not list"),
    (None, {"online": "yes"}, "field 'online' is \"yes\", not bool"),
    (None, {"id": True}, "field 'id' is true, not int"),
    (None, {"ip": "10.20.0.3; rm -rf /"}, "is not an address"),
    (None, {"roles": ["controller\n"]}, "is not a role name"),
    (None, {"id": 2}, "the id appears twice"),
])
def test_malformed(tmp_path, raw, node, expect):
    fixture = recorded_fixture()
    if raw is not None:
        fixture["raw"] = {"nodes": raw}
    else:
        fixture["nodes"][0].update(node)
    with RecordedNailgun(fixture) as api:
        rc, data, output = inventory(tmp_path, api)
    assert rc != 0 and data is None
    assert "fuel.lifecycle.nailgun: " in output and expect in output, output
    assert "Traceback" not in output.split("<<< caused by >>>")[0]


def test_cache_survives_the_master_going_away(tmp_path):
    cache = tmp_path / "cache"
    extra = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache),
             "cache_timeout": 600}
    with RecordedNailgun(recorded_fixture()) as api:
        rc, first, output = inventory(tmp_path, api, extra)
        url = api.url
    assert rc == 0, output
    files = list(cache.iterdir())
    assert len(files) == 1
    stored = files[0].read_text()
    assert PASSWORD not in stored and "gAAAA" not in stored
    payload = json.loads(json.loads(stored)["__payload__"])
    assert "meta" not in payload["nodes"][0] and len(payload["nodes"]) == 12

    class Gone:  # the same URL, nothing listening any more
        pass
    gone = Gone()
    gone.url = url
    rc, second, output = inventory(tmp_path, gone, extra)
    assert rc == 0, output
    assert second == first
    # Without the cache the same call fails: the second answer came from the cache.
    rc, _data, output = inventory(tmp_path, gone, {})
    assert rc != 0 and "cannot reach" in output


def test_compose_keyed_groups_and_jump(tmp_path):
    extra = {"compose": {"ansible_port": "2200 + fuel_node_id", "ansible_user": "'root'"},
             "keyed_groups": [{"key": "fuel_node_os_platform", "prefix": "os"}],
             "groups": {"big_env": "fuel_cluster_id == 1"},
             "jump_through_master": True, "jump_port": 2222, "jump_private_key_file": "/keys/master key",
             "master_host": "10.20.0.2"}
    with RecordedNailgun(recorded_fixture()) as api:
        rc, data, output = inventory(tmp_path, api, extra)
    assert rc == 0, output
    hv = data["_meta"]["hostvars"]
    assert hv["node-4"]["ansible_port"] == 2204 and hv["node-4"]["ansible_user"] == "root"
    assert hosts(data, "os_ubuntu") >= {"node-1", "node-11"}
    assert "node-1" in hosts(data, "big_env") and "node-10" not in hosts(data, "big_env")
    assert hv["node-1"]["ansible_ssh_common_args"] == (
        "-o ProxyCommand='ssh -W %h:%p -p 2222 -i '\"'\"'/keys/master key'\"'\"' root@10.20.0.2'")
    assert hv["fuel-master"]["ansible_host"] == "10.20.0.2" and "ansible_ssh_common_args" not in hv["fuel-master"]


def test_tls_verified_by_default(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    with RecordedNailgun(recorded_fixture(), tls=(str(cert), str(key))) as api:
        rc, _data, output = inventory(tmp_path, api)
        assert rc != 0 and "CERTIFICATE_VERIFY_FAILED" in output, output
        rc, data, output = inventory(tmp_path, api, {"ca_path": str(cert)})
        assert rc == 0, output
        rc, data, output = inventory(tmp_path, api, {"validate_certs": False})
        assert rc == 0, output
    assert hosts(data, "env_1")


def test_hostname_collision_is_refused(tmp_path):
    fixture = recorded_fixture()
    fixture["nodes"][1]["name"] = fixture["nodes"][0]["name"] = "ctrl"
    with RecordedNailgun(copy.deepcopy(fixture)) as api:
        rc, _data, output = inventory(tmp_path, api, {"hostname_source": "name"})
    assert rc != 0 and "both have the inventory name 'ctrl'" in output


def test_hostile_names_are_refused_or_never_templated(tmp_path):
    marker = tmp_path / "templated"
    payload = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % marker
    fixture = recorded_fixture()
    fixture["nodes"][0]["name"] = payload
    fixture["nodes"][1]["hostname"] = "node-2 -o ProxyCommand=x"
    with RecordedNailgun(copy.deepcopy(fixture)) as api:
        rc, _data, output = inventory(tmp_path, api)
        assert rc != 0 and "node 2: hostname \"node-2 -o ProxyCommand=x\" is not a usable inventory host name" in output
        fixture["nodes"][1]["hostname"] = "node-2"
    with RecordedNailgun(fixture) as api:
        rc, data, output = inventory(tmp_path, api)
        assert rc == 0, output
        assert data["_meta"]["hostvars"]["node-1"]["fuel_node_name"] == payload
        play = tmp_path / "show.yml"
        play.write_text("- hosts: node-1\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.debug:\n        msg: \"{{ fuel_node_name }}\"\n")
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "fuel.nailgun.yml"),
                               str(play), "-c", "local"], capture_output=True, text=True, cwd=str(tmp_path),
                              check=False, env=dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
                                                    ANSIBLE_COLLECTIONS_PATH=os.path.join(CHECKOUT, "build", "collections"),
                                                    FUEL_PASSWORD=PASSWORD))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lookup('ansible.builtin.pipe'" in proc.stdout
    assert not marker.exists()


def test_master_without_environments(tmp_path):
    fixture = recorded_fixture()
    fixture.update(clusters=[], nodes=[], paging={"clusters": True, "nodes": True})
    with RecordedNailgun(fixture) as api:
        rc, data, output = inventory(tmp_path, api, {"page_size": 5})
    assert rc == 0, output
    assert list(data["_meta"]["hostvars"]) == ["fuel-master"] and hosts(data, "fuel_master") == {"fuel-master"}
