"""repo_check's network reads against a local HTTP server: one deadline per request, size cap,
bounded redirects, 404 = invalid, refused connection = unreachable."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time

import pytest

from ansible_collections.fuel.lifecycle.plugins.modules import repo_check
from .archive_fixture import build
from module_harness import run_module


class Handler(http.server.BaseHTTPRequestHandler):
    root = None

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/slow/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _byte in range(200):  # one byte every 50 ms: 10 s in all, longer than any deadline below
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
            return
        if self.path.startswith("/loop/"):
            self.send_response(302)
            self.send_header("Location", self.path + "x")
            self.end_headers()
            return
        if self.path.startswith("/huge/"):
            self.send_response(200)
            self.end_headers()
            try:
                for _chunk in range(20 * 1024):
                    self.wfile.write(b"y" * 1024)
            except OSError:
                pass
            return
        path = os.path.join(self.root, self.path.lstrip("/"))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as handle:
            data = handle.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    paths = build(str(tmp_path_factory.mktemp("net-archive")))
    Handler.root = paths["root"]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1], paths
    httpd.shutdown()


def deb(url, **extra):
    return dict({"type": "deb", "name": "d", "uri": url, "suite": "bookworm", "section": "main"}, **extra)


def test_http_archive_valid_with_by_hash(server):
    url, paths = server
    result = run_module(repo_check.main, {"repos": [deb(url + "/deb", signed_by=paths["keys"] + "/a.gpg")],
                                          "packages": ["fuel-agent"], "architecture": "amd64"})
    assert result["ok"], result
    assert result["repos"][0]["signature"] == "valid"


def test_one_deadline_per_request_not_per_read(server):
    url, _paths = server
    started = time.time()
    result = run_module(repo_check.main, {"repos": [deb(url + "/slow")], "timeout": 2, "verify_signatures": False})
    elapsed = time.time() - started
    assert result["unreachable_repos"] == ["d"], result
    assert "no complete answer within 2 s" in " ".join(result["repos"][0]["problems"])
    assert elapsed < 6, elapsed  # both InRelease and Release: about 2 s each, never the 10 s the server takes


def test_redirect_loop_is_bounded(server):
    url, _paths = server
    result = run_module(repo_check.main, {"repos": [deb(url + "/loop")], "timeout": 5})
    assert not result["ok"] and result["repos"][0]["problems"], result


def test_size_cap(server):
    url, _paths = server
    result = run_module(repo_check.main, {"repos": [deb(url + "/huge")], "timeout": 20})
    assert "more than 16777216 bytes" in " ".join(result["repos"][0]["problems"]), result


def test_404_is_invalid_refused_is_unreachable(server):
    url, paths = server
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d/deb" % sock.getsockname()[1]
    result = run_module(repo_check.main, {"repos": [deb(url + "/deb", suite="trixie"), deb(dead, name="dead")],
                                          "timeout": 3})
    assert result["invalid_repos"] == ["d"] and result["unreachable_repos"] == ["dead"], result
    assert "HTTP 404" in result["repos"][0]["problems"][0]
