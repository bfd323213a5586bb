# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input for mu_version: generated options, record files and mirror answers.

A local HTTP server on 127.0.0.1 serves hostile mu-version.json answers (slow
drip, stalled headers, huge bodies, gzip bombs, redirect loops, redirects to
file://, bad shapes). Every run goes through the real main() and must end in
exit_json/fail_json (never a traceback), a failure must name the field or
file, and a failed run must leave the scratch tree byte-identical.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from module_harness import run_module, tree_digest

from ansible_collections.fuel.lifecycle.plugins.modules import mu_version

GOOD = {"id": 2, "title": "Maintenance update 2", "timestamp": 1769904000}
FIELDS = ("path", "fact_path", "url", "mirror_url", "release", "timeout", "max_bytes", "record", "state",
          "installed record", "available record")
BODIES = {}


class Mirror(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for key, value in headers:
            self.send_header(key, value)
        if not any(key == "Content-Length" for key, _value in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802  (http.server's name)
        path = self.path
        try:
            if path == "/good":
                self.send(200, json.dumps(GOOD).encode())
            elif path == "/drip":
                self.send_response(200)
                self.send_header("Content-Length", "4000")
                self.end_headers()
                for _count in range(4000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            elif path == "/stall":
                time.sleep(6)
                self.send(200, json.dumps(GOOD).encode())
            elif path == "/huge":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b" " * 65536
                for _count in range(400):
                    self.wfile.write(chunk)
            elif path == "/huge-length":
                self.send(200, b"{}", headers=[("Content-Length", "999999999999")])
            elif path == "/chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _count in range(400):
                    self.wfile.write(b"10000\r\n" + b" " * 65536 + b"\r\n")
            elif path == "/gzip-bomb":
                body = gzip.compress(b" " * (32 * 1024 * 1024))
                self.send(200, body, headers=[("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))])
            elif path == "/loop":
                self.send(302, headers=[("Location", "/loop")])
            elif path == "/to-file":
                self.send(302, headers=[("Location", "file:///etc/passwd")])
            elif path == "/to-good":
                self.send(301, headers=[("Location", "/good")])
            elif path == "/missing":
                self.send(404, b"not here")
            elif path.startswith("/body/"):
                self.send(200, BODIES.get(path[len("/body/"):], b""))
            else:
                self.send(500, b"unknown")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def mirror():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def scratch():
    root = tempfile.mkdtemp(prefix="mu-hostile-")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc", "mu.json"), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(dict(GOOD, id=1, installed_at=1.0), indent=2, sort_keys=True) + "\n")
    return root


def run_checked(params, root):
    before = tree_digest(root)
    start = time.time()
    result = run_module(mu_version.main, params)
    elapsed = time.time() - start
    if result.get("failed"):
        # ansible-core itself refuses a NUL in any option before main() runs ("Failed to log to syslog")
        own = "Failed to log to syslog" in result["msg"] and "\\x00" in repr(params)
        assert own or any(field in result["msg"] for field in FIELDS), result["msg"]
        assert tree_digest(root) == before, "a failed run changed the tree: %s" % result["msg"]
    return result, elapsed


@pytest.mark.parametrize("route, timeout, words", [
    ("/drip", 1, "no complete answer within timeout=1 s"),
    ("/stall", 1, "no complete answer within timeout=1 s"),
    ("/huge", 5, "larger than 65536 bytes (max_bytes)"),
    ("/huge-length", 5, "larger than 65536 bytes (max_bytes; Content-Length 999999999999)"),
    ("/chunked", 5, "larger than 65536 bytes (max_bytes)"),
    ("/gzip-bomb", 5, "larger than 65536 bytes (max_bytes)"),
    ("/loop", 5, "more than 5 redirects"),
    ("/to-file", 5, "only http(s) redirects are followed"),
    ("/missing", 5, "HTTP 404"),
])
def test_hostile_mirror_is_refused_within_the_deadline(mirror, route, timeout, words):
    root = scratch()
    try:
        params = {"path": os.path.join(root, "etc", "mu.json"), "fact_path": os.path.join(root, "fuel_mu.fact"),
                  "state": "present", "url": mirror + route, "timeout": timeout, "use_proxy": False}
        result, elapsed = run_checked(params, root)
        assert result.get("failed"), result
        assert words in result["msg"] and "available record" in result["msg"], result["msg"]
        # one overall deadline: a drip of one byte every 0.1 s must not hold the task beyond the timeout
        assert elapsed < timeout + 1.5, elapsed
    finally:
        shutil.rmtree(root)


def test_redirect_to_a_good_record_is_followed(mirror):
    root = scratch()
    try:
        params = {"path": os.path.join(root, "etc", "mu.json"), "fact_path": "", "url": mirror + "/to-good", "use_proxy": False}
        result, _elapsed = run_checked(params, root)
        assert not result.get("failed") and result["mu_status"] == "update-available", result
    finally:
        shutil.rmtree(root)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
hostile_numbers = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "1" * 400, "-1", "1.5", "true", "null",
                                   '"2"', "[]", "{}"])


@st.composite
def record_bodies(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=64))
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    if kind == 2:
        field = draw(st.sampled_from(["id", "title", "timestamp", "doc_link"]))
        return ('{"id": 2, "title": "MU", "timestamp": 1, "%s": %s}' % (field, draw(hostile_numbers))).encode()
    record = dict(GOOD)
    record[draw(st.sampled_from(["id", "title", "timestamp", "doc_link", "extra"]))] = draw(json_values)
    return json.dumps(record).encode()


# Over HTTP each request costs ~0.2 s (ansible's open_url builds a TLS context even for http), so
# the many generated bodies go through file:// below and a share of them through the HTTP mirror.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=record_bodies())
@example(body=b'{"id": NaN, "title": "x", "timestamp": 1}')
@example(body=b'{"id": 2, "title": "MU", "timestamp": 1, "extra": {"a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}')
@example(body=b'\xef\xbb\xbf{"id": 2, "title": "MU", "timestamp": 1}')
@example(body=b'{"id": 2, "id": 3, "title": "MU", "timestamp": 1}')
@example(body=b'{"id": 2, "title": "MU\\u0000", "timestamp": 1}')
def test_hostile_record_bodies_over_http(mirror, body):
    BODIES["x"] = body
    root = scratch()
    try:
        params = {"path": os.path.join(root, "etc", "mu.json"), "fact_path": os.path.join(root, "fuel_mu.fact"),
                  "state": "present", "url": mirror + "/body/x", "timeout": 5, "use_proxy": False}
        result, _elapsed = run_checked(params, root)
        if result.get("failed"):
            assert "available record" in result["msg"], result["msg"]
    finally:
        shutil.rmtree(root)


@settings(max_examples=80, deadline=None)
@given(body=record_bodies())
@example(body=b'{"id": 1e999, "title": "x", "timestamp": 1}')
@example(body=b'{"id": 2, "title": "MU", "timestamp": 1, "doc_link": "https://x/\\n"}')
def test_hostile_record_bodies_from_file_urls(body):
    root = scratch()
    try:
        with open(os.path.join(root, "avail.json"), "wb") as handle:
            handle.write(body)
        params = {"path": os.path.join(root, "etc", "mu.json"), "fact_path": os.path.join(root, "fuel_mu.fact"),
                  "state": "present", "url": "file://" + os.path.join(root, "avail.json")}
        before = tree_digest(root)
        result = run_module(mu_version.main, params)
        if result.get("failed"):
            assert "available record" in result["msg"], result["msg"]
            assert tree_digest(root) == before
        else:
            assert json.loads(body.decode("utf-8"))["id"] == result["mu_installed"]["id"]
    finally:
        shutil.rmtree(root)


hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "..", "../../etc/passwd", "/", "x" * 300, "/tmp/" + "y" * 300, "a\nb", "a\x00b", "\r",
                     "\u2028", "-", "--help", "file:///", "http://", "http:///x", "ftp://x/y", "file://host/x",
                     "http://a b/", "9.0/.."]))


@st.composite
def hostile_params(draw):
    params = {}
    for field in ("release", "mirror_url", "url"):
        if draw(st.booleans()):
            params[field] = draw(hostile_text)
    if draw(st.booleans()):
        params["timeout"] = draw(st.integers(-5, 100000))
    if draw(st.booleans()):
        params["max_bytes"] = draw(st.integers(-5, 10 ** 9))
    if draw(st.booleans()):
        params["record"] = draw(st.dictionaries(st.sampled_from(["id", "title", "timestamp", "doc_link", "x", ""]),
                                                json_values, max_size=5))
    params["state"] = draw(st.sampled_from(["query", "present"]))
    for field in ("path", "fact_path"):
        choice = draw(st.integers(0, 3))
        if choice == 1:
            params[field] = draw(hostile_text)
        elif choice == 2:
            names = ["etc", "etc/mu.json/x", "dir", "deep/" * 3 + "f", "n" * 256, "etc/../etc/mu.json"]
            params[field] = "{root}/" + draw(st.sampled_from(names))
    return params


@st.composite
def installed_contents(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=64))
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    if kind == 2:
        return None  # a directory where the record belongs
    return json.dumps(dict(GOOD, id=1)).encode()


@settings(max_examples=60, deadline=None)
@given(params=hostile_params(), installed=installed_contents())
@example(params={"state": "present", "record": {"id": 2, "title": "MU", "timestamp": 1}, "fact_path": "{root}/etc"},
         installed=json.dumps(dict(GOOD, id=1)).encode())
@example(params={"state": "present", "record": {"id": 2, "title": "MU", "timestamp": 1},
                 "path": "{root}/etc/mu.json/x"}, installed=b"{}")
@example(params={"state": "query", "url": "file:///"}, installed=b"{}")
@example(params={"mirror_url": "\x00", "state": "query"}, installed=None)
def test_hostile_options_and_files(params, installed):
    root = tempfile.mkdtemp(prefix="mu-hostile-")
    try:
        os.makedirs(os.path.join(root, "dir"))
        record = os.path.join(root, "etc", "mu.json")
        os.makedirs(os.path.dirname(record))
        if installed is None:
            os.makedirs(record)
        else:
            with open(record, "wb") as handle:
                handle.write(installed)
        params = {k: (v.replace("{root}", root) if isinstance(v, str) else v) for k, v in params.items()}
        params.setdefault("path", record)
        params.setdefault("fact_path", os.path.join(root, "facts.d", "fuel_mu.fact"))
        if params.get("url", "").startswith("http") or params.get("mirror_url", "").startswith("http"):
            params["timeout"] = 1  # nothing listens on those hosts; keep the example short
            params.pop("url", None)
            params.pop("mirror_url", None)
        try:
            json.dumps(params).encode("utf-8")
            for value in params.values():
                if isinstance(value, str):
                    value.encode("utf-8")  # lone surrogates never arrive from a controller
        except (TypeError, ValueError, UnicodeEncodeError):
            return
        run_checked(params, root)
    finally:
        shutil.rmtree(root)
