# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory from the Nailgun REST API of a Fuel master (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: nailgun
short_description: Fuel environments, nodes and roles from the Nailgun API of a Fuel master
version_added: 0.2.0
description:
  - Reads the environments (C(GET /api/clusters)) and nodes (C(GET /api/nodes)) of a Fuel master's
    Nailgun REST API and builds the groups the playbooks of this collection use.
  - "Groups: C(fuel_master) (the master itself), C(env_<cluster id>) (deployed, ready and online nodes of one
    environment), one group per deployed role (C(controller), C(compute), C(ceph_osd), ...), and, for every
    node that is not C(ready) or not online, C(fuel_unavailable), C(fuel_status_<status>),
    C(fuel_offline) and C(env_<cluster id>_unavailable). A node of C(fuel_unavailable) is in no environment or
    role group, so no playbook of this collection targets it unless asked to by name or group."
  - Nodes that carry pending roles (roles to be added at the next deployment) are also in C(fuel_pending_roles);
    nodes in no environment are in C(fuel_unassigned).
  - The primary controller of each environment gets C(fuel_primary_controller=true). The node API of
    Nailgun does not publish the primary tag; Nailgun makes the controller with the lowest node id the
    primary one when an environment is first deployed, which is what this plugin assumes unless
    O(primary_controllers) names another node.
  - C(ansible_host) is the node's admin (PXE) network address, field C(ip) of the node, as C(fuel node list) shows.
    With O(jump_through_master) the SSH connections to the nodes go through the master, the only host that
    reaches the admin network from outside.
  - Authentication takes a Keystone token (O(token)), or asks the master's Keystone for one with
    O(username) and O(password). The token is sent as C(X-Auth-Token). Neither the password nor the token is
    ever written to the inventory, the cache or an error message.
  - The inventory file name must end with C(nailgun.yml) or C(nailgun.yaml).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks the file as an inventory of this plugin.
    type: str
    required: true
    choices: [fuel.lifecycle.nailgun]
  url:
    description:
      - Root URL of Nailgun on the Fuel master, for example V(https://10.20.0.2:8443) or V(http://10.20.0.2:8000).
      - The API is read under O(api_path) of this URL.
    type: str
    required: true
    env:
      - name: FUEL_NAILGUN_URL
  api_path:
    description: Path of the API under O(url).
    type: str
    default: /api
  keystone_url:
    description:
      - Keystone endpoint of the Fuel master, V2.0 (path ending in C(/v2.0)) or V3 (path ending in C(/v3)).
      - Defaults to port 5000 of the host of O(url), path C(/v2.0), the Keystone of a Fuel 9 master.
    type: str
    env:
      - name: FUEL_KEYSTONE_URL
      - name: OS_AUTH_URL
  username:
    description: Keystone user; used when no O(token) is given.
    type: str
    env:
      - name: FUEL_USERNAME
      - name: OS_USERNAME
  password:
    description: Keystone password of O(username). Never logged.
    type: str
    env:
      - name: FUEL_PASSWORD
      - name: OS_PASSWORD
  tenant:
    description: Keystone tenant (project) the token is scoped to.
    type: str
    default: admin
    env:
      - name: OS_TENANT_NAME
      - name: OS_PROJECT_NAME
  user_domain:
    description: Keystone V3 only, domain of the user and the project.
    type: str
    default: Default
  token:
    description: A Keystone token to use instead of O(username) and O(password). Never logged.
    type: str
    env:
      - name: FUEL_TOKEN
      - name: OS_TOKEN
  validate_certs:
    description: Check the TLS certificates of Nailgun and Keystone.
    type: bool
    default: true
  ca_path:
    description: CA bundle to check the certificates with (the master's own CA, say).
    type: path
  timeout:
    description: Seconds to wait for each HTTP answer.
    type: int
    default: 30
  page_size:
    description:
      - Objects asked for per request (C(limit)/C(offset), Nailgun's paging); V(0) asks for everything at once.
      - A Nailgun collection that pages answers with a C(Content-Range) header (C(objects first-last/total)) and
        the plugin asks for the next page until it has C(total) objects; one that does not page (the node
        collection of Fuel 9) answers with the whole list, which is then taken as complete.
    type: int
    default: 100
  environments:
    description: Ids of the environments (clusters) to read; all when empty.
    type: list
    elements: int
    default: []
  hostname_source:
    description:
      - Field of the node used as inventory host name. V(hostname) (C(node-<id>)) is unique and stable;
        V(name) is the label an operator gave in the UI, which need not be unique; V(fqdn) adds the domain.
    type: str
    default: hostname
    choices: [hostname, name, fqdn]
  master_name:
    description: Inventory name of the Fuel master, the only host of C(fuel_master).
    type: str
    default: fuel-master
  master_host:
    description: Address to reach the master over SSH; defaults to the host of O(url).
    type: str
  primary_controllers:
    description:
      - Primary controller of an environment, by node id, when it is not the controller with the lowest
        id (after a controller replacement, for example); keys are environment ids.
    type: dict
    default: {}
  jump_through_master:
    description:
      - Reach the nodes over SSH through the master (C(ProxyCommand ssh -W)), as the admin network is
        usually reachable only from the master.
      - Sets the host variable C(ansible_ssh_common_args) of every node (it takes precedence over a group
        variable of that name); give further options of the node connection in C(ansible_ssh_extra_args)
        and of the jump in O(jump_ssh_args).
    type: bool
    default: false
  jump_user:
    description: SSH user on the master for the jump.
    type: str
    default: root
  jump_port:
    description: SSH port of the master for the jump.
    type: int
    default: 22
  jump_private_key_file:
    description: Private key for the jump to the master (the node's own key is given as usual).
    type: path
  jump_ssh_args:
    description: Further C(ssh) options of the jump command (for example host key checking options).
    type: str
    default: ""
"""

EXAMPLES = r"""
# fuel.nailgun.yml: every ready node of every environment, token from the master's Keystone
plugin: fuel.lifecycle.nailgun
url: https://10.20.0.2:8443
ca_path: /etc/pki/fuel-master-ca.pem
username: admin
# password from FUEL_PASSWORD or OS_PASSWORD in the environment (an AWX credential)
jump_through_master: true
jump_private_key_file: ~/.ssh/fuel-master
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/fuel-nailgun
cache_timeout: 300
keyed_groups:
  - key: fuel_node_os_platform
    prefix: os
compose:
  ansible_user: "'root'"
"""

import json
import re
from shlex import quote

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit
from ansible.module_utils.urls import open_url
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

CONTENT_RANGE = re.compile(r"\A\s*objects\s+(\d+)-(\d+)/(\d+)\s*\Z")
MAX_PAGES = 10000
HOST_NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}\Z")
READY = "ready"


class NailgunError(AnsibleError):
    """A refusal or a malformed answer from Nailgun or Keystone, with the URL at fault."""


def _where(url):
    """The URL without user information or query string, for messages."""
    parts = urlsplit(url)
    return "%s://%s%s" % (parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path)


class Client:
    """Nailgun and Keystone over HTTP(S); the token stays inside this object."""

    def __init__(self, options):
        for key in ("url", "keystone_url"):
            parts = urlsplit(options.get(key) or "https://host")
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query:
                raise NailgunError("%s: %s is not an http(s) URL without credentials or query"
                                   % (key, json.dumps(_where(options[key]))))
        self.url = options["url"].rstrip("/")
        self.api = self.url + "/" + options["api_path"].strip("/")
        self.keystone_url = options.get("keystone_url")
        if not self.keystone_url:
            parts = urlsplit(self.url)
            self.keystone_url = "%s://%s:5000/v2.0" % (parts.scheme, parts.hostname)
        self.keystone_url = self.keystone_url.rstrip("/")
        self.username = options.get("username")
        self.password = options.get("password")
        self.tenant = options.get("tenant") or "admin"
        self.user_domain = options.get("user_domain") or "Default"
        self._token = options.get("token")
        self.http = {
            "validate_certs": options["validate_certs"],
            "ca_path": options.get("ca_path"),
            "timeout": options["timeout"],
            "follow_redirects": "safe",
        }
        self.page_size = options["page_size"]

    def _open(self, url, method="GET", body=None, headers=None):
        send = {"Accept": "application/json"}
        send.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body)
            send["Content-Type"] = "application/json"
        try:
            response = open_url(url, data=data, method=method, headers=send, **self.http)
            return response, response.read()
        except HTTPError as exc:
            if exc.code == 401:
                what = "the token" if "X-Auth-Token" in send else "the credentials"
                raise NailgunError("%s refused %s (HTTP 401 Unauthorized)" % (_where(url), what))
            if exc.code == 403:
                raise NailgunError("%s: the user has no right to read this (HTTP 403 Forbidden)" % _where(url))
            raise NailgunError("%s answered HTTP %s %s" % (_where(url), exc.code, to_native(exc.reason)))
        except URLError as exc:
            raise NailgunError("cannot reach %s: %s" % (_where(url), to_native(exc.reason)))
        except (OSError, ValueError) as exc:  # timeouts, TLS errors, bad URLs
            raise NailgunError("cannot reach %s: %s" % (_where(url), to_native(exc)))

    @staticmethod
    def _json(url, raw):
        try:
            return json.loads(to_text(raw, errors="surrogate_or_strict"))
        except (ValueError, UnicodeError) as exc:
            raise NailgunError("%s answered something that is not JSON (%s)" % (_where(url), to_native(exc)))

    def token(self):
        if self._token:
            return self._token
        if not self.username or not self.password:
            raise NailgunError("no token and no username/password for %s: set token, or username and password"
                               % _where(self.keystone_url))
        if self.keystone_url.endswith("/v3"):
            url = self.keystone_url + "/auth/tokens"
            body = {"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": self.username, "domain": {"name": self.user_domain}, "password": self.password}}},
                "scope": {"project": {"name": self.tenant, "domain": {"name": self.user_domain}}}}}
            response, _raw = self._open(url, "POST", body)
            token = response.headers.get("X-Subject-Token")
        else:
            url = self.keystone_url + "/tokens"
            body = {"auth": {"tenantName": self.tenant,
                             "passwordCredentials": {"username": self.username, "password": self.password}}}
            _response, raw = self._open(url, "POST", body)
            data = self._json(url, raw)
            token = None
            if isinstance(data, dict) and isinstance(data.get("access"), dict) and isinstance(
                    data["access"].get("token"), dict):
                token = data["access"]["token"].get("id")
        if not isinstance(token, str) or not token.strip() or any(c in token for c in "\r\n"):
            raise NailgunError("%s answered without a usable token" % _where(url))
        self._token = token
        return token

    def collection(self, name, query=None):
        """Every object of a Nailgun collection (a JSON list of dicts), following Content-Range paging."""
        objects = []
        offset = 0
        for _page in range(MAX_PAGES):
            params = dict(query or {})
            if self.page_size > 0:
                params.update(limit=self.page_size, offset=offset)
            url = "%s/%s" % (self.api, name)
            if params:
                url += "?" + urlencode(sorted(params.items()))
            response, raw = self._open(url, headers={"X-Auth-Token": self.token()})
            page = self._json(url, raw)
            if not isinstance(page, list):
                raise NailgunError("%s answered a %s where a list of %s was expected"
                                   % (_where(url), type(page).__name__, name))
            for index, item in enumerate(page):
                if not isinstance(item, dict):
                    raise NailgunError("%s: item %d of %s is a %s, not an object"
                                       % (_where(url), offset + index, name, type(item).__name__))
            objects.extend(page)
            header = response.headers.get("Content-Range") if self.page_size > 0 else None
            if not header:
                return objects
            match = CONTENT_RANGE.match(header)
            if not match:
                raise NailgunError("%s: malformed Content-Range header %r" % (_where(url), header[:80]))
            first, last, total = (int(group) for group in match.groups())
            if total == 0 and not page:
                return objects
            if (first, last) != (offset + 1, offset + len(page)) or last > total:
                raise NailgunError("%s: Content-Range %r does not match the %d objects of the answer at offset %d"
                                   % (_where(url), header, len(page), offset))
            if last == total:
                return objects
            offset = last
        raise NailgunError("%s/%s: more than %d pages" % (self.api, name, MAX_PAGES))


NODE_FIELDS = ("id", "name", "roles", "pending_roles", "status", "mac", "hostname", "ip", "fqdn", "online",
               "cluster", "os_platform", "error_type", "pending_addition", "pending_deletion", "group_id")
CLUSTER_FIELDS = ("id", "name", "status", "release_id", "fuel_version")


def _field(node, name, kind, where, required=True):
    """node[name] if it is a ``kind`` (bool is not an int here), None if absent and not required."""
    value = node.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise NailgunError("%s: field %r is %s, not %s" % (where, name, json.dumps(value)[:60], kind.__name__))
    return value


def check_nodes(nodes):
    """Validate the fields the inventory uses; return them normalised."""
    checked = []
    seen = set()
    for position, node in enumerate(nodes):
        where = "node #%d (id %r)" % (position, node.get("id"))
        node_id = _field(node, "id", int, where)
        if node_id in seen:
            raise NailgunError("%s: the id appears twice" % where)
        seen.add(node_id)
        roles = _field(node, "roles", list, where)
        pending = _field(node, "pending_roles", list, where, required=False) or []
        for role in roles + pending:
            if not isinstance(role, str) or not re.match(r"\A[A-Za-z0-9_.-]{1,64}\Z", role):
                raise NailgunError("%s: role %r is not a role name" % (where, role))
        cluster = _field(node, "cluster", int, where, required=False)
        status = _field(node, "status", str, where)
        if not re.match(r"\A[a-z_]{1,32}\Z", status):
            raise NailgunError("%s: status %r is not a Nailgun status" % (where, status))
        online = _field(node, "online", bool, where)
        ip = _field(node, "ip", str, where, required=False)
        if ip is not None and not re.match(r"\A[0-9A-Fa-f.:]{2,45}\Z", ip):
            raise NailgunError("%s: ip %r is not an address" % (where, ip))
        checked.append({
            "id": node_id, "roles": roles, "pending_roles": pending, "cluster": cluster, "status": status,
            "online": online, "ip": ip,
            "hostname": _field(node, "hostname", str, where, required=False) or "node-%d" % node_id,
            "name": _field(node, "name", str, where, required=False),
            "fqdn": _field(node, "fqdn", str, where, required=False),
            "mac": _field(node, "mac", str, where, required=False),
            "os_platform": _field(node, "os_platform", str, where, required=False),
            "error_type": _field(node, "error_type", str, where, required=False),
            "pending_addition": bool(node.get("pending_addition")),
            "pending_deletion": bool(node.get("pending_deletion")),
            "group_id": node.get("group_id") if isinstance(node.get("group_id"), int) else None,
        })
    return checked


def check_clusters(clusters):
    checked = {}
    for position, cluster in enumerate(clusters):
        where = "environment #%d (id %r)" % (position, cluster.get("id"))
        cluster_id = _field(cluster, "id", int, where)
        checked[cluster_id] = {
            "id": cluster_id,
            "name": _field(cluster, "name", str, where, required=False),
            "status": _field(cluster, "status", str, where, required=False),
            "release_id": cluster.get("release_id") if isinstance(cluster.get("release_id"), int) else None,
            "fuel_version": _field(cluster, "fuel_version", str, where, required=False),
        }
    return checked


def primaries(nodes, chosen):
    """Primary controller id per environment: the given one, else the lowest controller id."""
    result = {}
    for node in sorted(nodes, key=lambda n: n["id"]):
        if node["cluster"] is not None and "controller" in node["roles"]:
            result.setdefault(node["cluster"], node["id"])
    for env, node_id in chosen.items():
        result[int(env)] = int(node_id)
    return result


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "fuel.lifecycle.nailgun"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("nailgun.yml", "nailgun.yaml"))

    def _client_options(self):
        names = ("url", "api_path", "keystone_url", "username", "password", "tenant", "user_domain", "token",
                 "validate_certs", "ca_path", "timeout", "page_size")
        return {name: self.get_option(name) for name in names}

    def _fetch(self, client):
        environments = self.get_option("environments")
        clusters = client.collection("clusters")
        if environments:
            nodes = []
            for env in environments:
                nodes.extend(client.collection("nodes", {"cluster_id": env}))
        else:
            nodes = client.collection("nodes")
        # Only the fields the inventory uses go to the cache (no hardware inventory, no credentials).
        return {"clusters": [{k: c.get(k) for k in CLUSTER_FIELDS if k in c} for c in clusters],
                "nodes": [{k: n.get(k) for k in NODE_FIELDS if k in n} for n in nodes]}

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if self.get_option("timeout") <= 0:
            raise AnsibleParserError("%s: timeout must be a positive number of seconds" % path)
        if self.get_option("page_size") < 0:
            raise AnsibleParserError("%s: page_size must be 0 or more" % path)
        try:
            client = Client(self._client_options())
        except NailgunError as exc:
            raise AnsibleParserError("fuel.lifecycle.nailgun: %s" % to_native(exc))
        cache_key = self.get_cache_key("%s|%s" % (client.api, ",".join(
            str(e) for e in sorted(self.get_option("environments")))))
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
        try:
            if data is None:
                data = self._fetch(client)
            self._populate(data, client)
        except NailgunError as exc:
            raise AnsibleParserError("fuel.lifecycle.nailgun: %s" % to_native(exc))
        if update_cache:
            self._cache[cache_key] = data

    def _populate(self, data, client):
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not isinstance(
                data.get("clusters"), list):
            raise NailgunError("cached inventory data has the wrong shape: refresh the cache")
        clusters = check_clusters(data["clusters"])
        wanted = set(self.get_option("environments"))
        nodes = [n for n in check_nodes(data["nodes"]) if not wanted or n["cluster"] in wanted]
        chosen = self.get_option("primary_controllers") or {}
        for env, node_id in chosen.items():
            if not re.match(r"\A\d+\Z", str(env)) or not re.match(r"\A\d+\Z", str(node_id)):
                raise NailgunError("primary_controllers: %r: %r is not environment id: node id" % (env, node_id))
        primary = primaries(nodes, chosen)
        strict = self.get_option("strict")

        master = self.get_option("master_name")
        master_host = self.get_option("master_host") or urlsplit(client.url).hostname
        self.inventory.add_group("fuel_master")
        self.inventory.add_host(master, group="fuel_master")
        self.inventory.set_variable(master, "ansible_host", master_host)
        self.inventory.set_variable(master, "fuel_nailgun_url", client.url)
        for group in ("fuel_unavailable", "fuel_offline", "fuel_pending_roles", "fuel_unassigned"):
            self.inventory.add_group(group)
        for cluster_id in sorted(clusters):
            self.inventory.add_group("env_%d" % cluster_id)

        names = {}
        for node in nodes:
            name = node[self.get_option("hostname_source")] or node["hostname"]
            if not HOST_NAME.match(name):
                raise NailgunError("node %s: %s %s is not a usable inventory host name: choose another hostname_source"
                                   % (node["id"], self.get_option("hostname_source"), json.dumps(name)[:80]))
            if name in names or name == master:
                raise NailgunError("nodes %s and %s both have the inventory name %r: choose another hostname_source"
                                   % (names.get(name, "master"), node["id"], name))
            names[name] = node["id"]
            available = node["status"] == READY and node["online"] and not node["pending_deletion"]
            self.inventory.add_host(name)
            hostvars = {
                "fuel_node_id": node["id"],
                "fuel_node_status": node["status"],
                "fuel_node_online": node["online"],
                "fuel_node_roles": node["roles"],
                "fuel_node_pending_roles": node["pending_roles"],
                "fuel_node_pending_addition": node["pending_addition"],
                "fuel_node_pending_deletion": node["pending_deletion"],
                "fuel_node_error_type": node["error_type"],
                "fuel_node_name": node["name"],
                "fuel_node_fqdn": node["fqdn"],
                "fuel_node_mac": node["mac"],
                "fuel_node_os_platform": node["os_platform"],
                "fuel_node_group_id": node["group_id"],
                "fuel_node_available": available,
                "fuel_cluster_id": node["cluster"],
                "fuel_cluster_name": clusters.get(node["cluster"], {}).get("name"),
                "fuel_primary_controller": node["cluster"] is not None and primary.get(node["cluster"]) == node["id"],
            }
            if node["ip"]:
                hostvars["ansible_host"] = node["ip"]
            if self.get_option("jump_through_master"):
                hostvars["ansible_ssh_common_args"] = self._jump_args(master_host)
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, value)
            if node["pending_roles"]:
                self.inventory.add_child("fuel_pending_roles", name)
            if node["cluster"] is None:
                self.inventory.add_child("fuel_unassigned", name)
            if available and node["cluster"] is not None:
                env_group = self.inventory.add_group("env_%d" % node["cluster"])
                self.inventory.add_child(env_group, name)
                for role in node["roles"]:
                    group = self.inventory.add_group(self._sanitize_group_name(role))
                    self.inventory.add_child(group, name)
            elif not available:
                self.inventory.add_child("fuel_unavailable", name)
                status_group = self.inventory.add_group(self._sanitize_group_name("fuel_status_" + node["status"]))
                self.inventory.add_child(status_group, name)
                if not node["online"]:
                    self.inventory.add_child("fuel_offline", name)
                if node["cluster"] is not None:
                    group = self.inventory.add_group("env_%d_unavailable" % node["cluster"])
                    self.inventory.add_child(group, name)
            variables = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
        variables = self.inventory.get_host(master).get_vars()
        self._set_composite_vars(self.get_option("compose"), variables, master, strict=strict)

    def _jump_args(self, master_host):
        argv = ["ssh", "-W", "%h:%p", "-p", str(self.get_option("jump_port"))]
        if self.get_option("jump_private_key_file"):
            argv += ["-i", self.get_option("jump_private_key_file")]
        command = " ".join(quote(a) if a != "%h:%p" else a for a in argv)
        if self.get_option("jump_ssh_args"):
            command += " " + self.get_option("jump_ssh_args")
        command += " " + quote("%s@%s" % (self.get_option("jump_user"), master_host))
        return "-o ProxyCommand=%s" % quote(command)
