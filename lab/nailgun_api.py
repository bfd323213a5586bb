"""A recorded Nailgun API (Fuel master) for the lab, served on 127.0.0.1 only.

The answers have the shapes of Fuel 9 (openstack/fuel-web, tag 9.2):

* ``POST /v2.0/tokens`` (Keystone V2.0, also under ``/keystone/v2.0``): body
  ``{"auth": {"tenantName", "passwordCredentials": {"username", "password"}}}``,
  answer ``{"access": {"token": {"id", "expires", "tenant"}, "user": ...}}``;
  ``POST /v3/auth/tokens``: the token in the ``X-Subject-Token`` header.
* ``GET /api/clusters`` and ``GET /api/nodes[?cluster_id=N]`` (also under
  ``/api/v1``) with the token in ``X-Auth-Token``; 401 without a valid one.
* Paging as Nailgun's ``CollectionHandler``: ``limit``/``offset`` give a
  ``Content-Range: objects first-last/total`` header (first is 1-based;
  ``0-0/total`` for an empty page; 416 past the end). The node collection of
  Fuel 9 overrides GET and ignores paging: so does this server unless the
  fixture says ``"paging": {"nodes": true}``.
* Node objects carry the fields of ``NodeSerializer`` plus ``fqdn``; cluster
  objects those of ``ClusterSerializer``.

A fixture is a JSON document: ``users`` ({name: {password, tenant}}),
``tokens`` (tokens accepted as given), ``paging``, ``clusters``, ``nodes``,
and ``raw`` ({collection: text}) to answer a collection with a malformed body.
``recorded_fixture()`` builds the reference data set; ``lab_fixture()``
describes the running lab's nodes. Run: ``python -m lab.nailgun_api recorded|lab|FIXTURE.json [PORT]``
(prints its URL; user ``admin``, password ``recorded-secret-pw`` or ``lab-secret-pw``).
"""

import json
import os
import re
import secrets
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NODE_FIELDS = ("id", "name", "meta", "progress", "kernel_params", "roles", "pending_roles", "status", "mac",
               "hostname", "ip", "manufacturer", "platform_name", "pending_addition", "pending_deletion",
               "os_platform", "error_type", "online", "labels", "cluster", "network_data", "group_id", "fqdn")
CLUSTER_FIELDS = ("id", "name", "mode", "changes", "status", "ui_settings", "is_customized", "net_provider",
                  "release_id", "fuel_version", "is_locked", "components")


def cluster_record(cluster_id, name, status="operational"):
    return {"id": cluster_id, "name": name, "mode": "ha_compact", "changes": [], "status": status,
            "ui_settings": {"view_mode": "standard", "filter": {}, "sort": [{"roles": "asc"}],
                            "filter_by_labels": {}, "sort_by_labels": []},
            "is_customized": False, "net_provider": "neutron", "release_id": 2, "fuel_version": "9.0",
            "is_locked": status != "new", "components": []}


def node_record(node_id, cluster, roles, ip, status="ready", online=True, pending_roles=(), name=None,
                pending_addition=False, pending_deletion=False, error_type=None):
    """One node as NodeSerializer.serialize() returns it (Fuel 9)."""
    mac = "52:54:00:00:%02x:%02x" % (node_id // 256, node_id % 256)
    hostname = "node-%d" % node_id
    admin = {"name": "fuelweb_admin", "cidr": "10.20.0.0/24", "vlan": None, "ip": ip + "/24",
             "netmask": "255.255.255.0", "brd": "10.20.0.255", "gateway": "10.20.0.2", "dev": "eth0"}
    networks = [admin] if cluster is not None else []
    if cluster is not None:
        networks.insert(0, {"name": "management", "cidr": "192.168.0.0/24", "vlan": 101,
                            "ip": "192.168.0.%d/24" % (node_id + 2), "netmask": "255.255.255.0",
                            "brd": "192.168.0.255", "gateway": None, "dev": "eth0"})
    return {
        "id": node_id, "name": name or "Untitled (%s)" % mac[-5:], "meta": {
            "system": {"manufacturer": "QEMU", "product": "Standard PC (i440FX + PIIX, 1996)", "fqdn": hostname},
            "interfaces": [{"name": "eth0", "mac": mac, "ip": ip, "netmask": "255.255.255.0", "pxe": True}],
            "cpu": {"real": 1, "total": 2}, "memory": {"total": 8589934592}, "disks": []},
        "progress": 100 if status == "ready" else 0, "kernel_params": None, "roles": list(roles),
        "pending_roles": list(pending_roles), "status": status, "mac": mac, "hostname": hostname, "ip": ip,
        "manufacturer": "QEMU", "platform_name": None, "pending_addition": pending_addition,
        "pending_deletion": pending_deletion, "os_platform": "ubuntu", "error_type": error_type,
        "online": online, "labels": {}, "cluster": cluster, "network_data": networks,
        "group_id": 1 if cluster is not None else None, "fqdn": hostname + ".domain.tld",
    }


def recorded_fixture():
    """Two environments and the node states a real master shows: paging needs more than a page."""
    nodes = [
        node_record(1, 1, ["controller"], "10.20.0.3"),
        node_record(2, 1, ["controller"], "10.20.0.4"),
        node_record(3, 1, ["controller", "mongo"], "10.20.0.5"),
        node_record(4, 1, ["compute", "cinder"], "10.20.0.6"),
        node_record(5, 1, ["compute"], "10.20.0.7", online=False),             # powered off
        node_record(6, 1, ["compute"], "10.20.0.8", pending_roles=["ceph-osd"]),  # role to be added
        node_record(7, 1, [], "10.20.0.9", status="discover", pending_roles=["compute"], pending_addition=True),
        node_record(8, 1, ["compute"], "10.20.0.10", status="error", error_type="deploy"),
        node_record(9, None, [], "10.20.0.11", status="discover"),             # not in an environment
        node_record(10, 2, ["controller"], "10.20.0.12"),
        node_record(11, 2, ["compute"], "10.20.0.13"),
        node_record(12, 2, ["base-os"], "10.20.0.14", pending_deletion=True),
    ]
    return {"users": {"admin": {"password": "recorded-secret-pw", "tenant": "admin"}},
            "tokens": ["recorded-static-token"],
            "paging": {"clusters": True, "nodes": False},
            "clusters": [cluster_record(1, "prod"), cluster_record(2, "edge")],
            "nodes": nodes}


def lab_fixture(state, env_id=None):
    """The running lab's nodes as Nailgun would list them: every node is ready and online, its admin
    address 127.0.0.1 (the lab's sshd), the master (first RPM host) left out like on a real master."""
    env_id = int(env_id or state.get("env_id") or 1)
    nodes = []
    next_id = 1
    for node in state["nodes"]:
        # The master is not a Nailgun node; the Python-2.7-only legacy nodes are left out like in the
        # lab's main inventory (ansible-core 2.17+ cannot drive them).
        if "fuel_master" in node.get("groups", []) or node.get("flavor") == "legacy":
            continue
        roles = [g for g in node.get("groups", []) if g in ("controller", "compute")]
        record = node_record(next_id, env_id, roles, "127.0.0.1")
        record["hostname"] = node["name"]
        record["fqdn"] = node["name"] + ".domain.tld"
        nodes.append(record)
        next_id += 1
    return {"users": {"admin": {"password": "lab-secret-pw", "tenant": "admin"}}, "tokens": [],
            "paging": {"clusters": True, "nodes": False},
            "clusters": [cluster_record(env_id, "lab")], "nodes": nodes}


class Handler(BaseHTTPRequestHandler):
    server_version = "nailgun-recorded/9.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        # Method and path only (no headers, no bodies: they hold tokens and passwords).
        self.server.log.append({"method": self.command, "path": urlsplit(self.path).path,
                                "token": self.headers.get("X-Auth-Token") is not None})

    def _send(self, code, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None

    def do_POST(self):  # pylint: disable=invalid-name
        path = urlsplit(self.path).path.rstrip("/")
        fixture = self.server.fixture
        data = self._body()
        try:
            if path in ("/v2.0/tokens", "/keystone/v2.0/tokens"):
                creds = data["auth"]["passwordCredentials"]
                user, password, tenant = creds["username"], creds["password"], data["auth"].get("tenantName")
            elif path in ("/v3/auth/tokens", "/keystone/v3/auth/tokens"):
                creds = data["auth"]["identity"]["password"]["user"]
                user, password = creds["name"], creds["password"]
                tenant = data["auth"].get("scope", {}).get("project", {}).get("name")
            else:
                return self._send(404, {"message": "not found"})
        except (KeyError, TypeError):
            return self._send(400, {"message": "Invalid data received"})
        known = fixture["users"].get(user)
        if not known or known["password"] != password or (tenant and tenant != known["tenant"]):
            return self._send(401, {"error": {"code": 401, "title": "Unauthorized",
                                              "message": "The request you have made requires authentication."}})
        token = "gAAAA" + secrets.token_hex(16)
        self.server.tokens.add(token)
        tenant_info = {"description": None, "enabled": True, "id": "12345", "name": known["tenant"]}
        if path.endswith("/v3/auth/tokens"):
            return self._send(201, {"token": {"methods": ["password"], "expires_at": "2026-12-31T00:00:00.000000Z",
                                              "project": tenant_info, "user": {"name": user}}},
                              {"X-Subject-Token": token})
        return self._send(200, {"access": {
            "token": {"issued_at": "2026-12-01T00:00:00.000000", "expires": "2026-12-31T00:00:00Z",
                      "id": token, "tenant": tenant_info},
            "serviceCatalog": [], "user": {"username": user, "roles_links": [], "id": "9876",
                                           "roles": [{"name": "admin"}], "name": user},
            "metadata": {"is_admin": 0, "roles": ["4567"]}}})

    def do_GET(self):  # pylint: disable=invalid-name
        parts = urlsplit(self.path)
        match = re.match(r"\A/api(?:/v1)?/(clusters|nodes|version)/?\Z", parts.path)
        if not match:
            return self._send(404, {"message": "not found"})
        if self.headers.get("X-Auth-Token") not in self.server.tokens:
            return self._send(401, {"message": "Authentication required"})
        name = match.group(1)
        fixture = self.server.fixture
        if name == "version":
            return self._send(200, {"release": "9.0", "api": "1", "openstack_version": "mitaka-9.0",
                                    "feature_groups": []})
        if name in fixture.get("raw", {}):
            return self._send(200, fixture["raw"][name].encode())
        query = parse_qs(parts.query, keep_blank_values=True)
        items = list(fixture[name])
        if name == "nodes" and "cluster_id" in query:
            wanted = query["cluster_id"][0]
            items = [n for n in items if (n["cluster"] is None if wanted == "" else str(n["cluster"]) == wanted)]
        headers = {}
        if fixture.get("paging", {}).get(name) and ("limit" in query or "offset" in query):
            try:
                limit = int(query["limit"][0]) if "limit" in query else None
                offset = int(query["offset"][0]) if "offset" in query else 0
            except ValueError:
                return self._send(400, {"message": "Cannot convert to int"})
            if (limit is not None and limit < 0) or offset < 0:
                return self._send(400, {"message": "Negative limit/offset not allowed"})
            total = len(items)
            page = items[offset:] if limit is None else items[offset:offset + limit] if limit > 0 else []
            if not page or limit == 0:
                first = last = 0
            else:
                first, last = offset + 1, offset + len(page)
            if not page and total and limit != 0:
                return self._send(416, {"message": "Requested range cannot be satisfied"})
            headers["Content-Range"] = "objects %d-%d/%d" % (first, last, total)
            items = page
        self.server.served[name] = self.server.served.get(name, 0) + 1
        return self._send(200, items, headers)


class RecordedNailgun:
    """The server in a thread of this process: ``with RecordedNailgun(fixture) as api: api.url``."""

    def __init__(self, fixture, port=0, tls=None):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.scheme = "http"
        if tls:  # (certificate file, key file)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.httpd.fixture = fixture
        self.httpd.tokens = set(fixture.get("tokens", []))
        self.httpd.log = []
        self.httpd.served = {}
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.httpd.server_address[1])

    @property
    def log(self):
        return self.httpd.log

    @property
    def served(self):
        return self.httpd.served

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def main(argv):
    if not argv or len(argv) > 2:
        print("usage: python -m lab.nailgun_api FIXTURE.json|recorded|lab [PORT]", file=sys.stderr)
        return 2
    if argv[0] == "recorded":
        fixture = recorded_fixture()
    elif argv[0] == "lab":  # the nodes of the running lab (python -m lab up)
        from lab.common import STATE_DIR  # pylint: disable=import-outside-toplevel
        with open(os.path.join(STATE_DIR, "state.json"), encoding="utf-8") as handle:
            fixture = lab_fixture(json.load(handle))
    else:
        with open(argv[0], encoding="utf-8") as handle:
            fixture = json.load(handle)
    api = RecordedNailgun(fixture, int(argv[1]) if len(argv) > 1 else 0)
    print(api.url, flush=True)
    try:
        api.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
