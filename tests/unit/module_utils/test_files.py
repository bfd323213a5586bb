"""_files: bounded reads, strict JSON, atomic writes, exclusive creation, confinement."""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files as files


def test_read_missing_is_none(tmp_path):
    assert files.read_json(str(tmp_path / "nope.json")) is None


@pytest.mark.parametrize("content, problem", [
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "wrong shape"),
    (b'{"a": NaN}', "not valid JSON"),
    (b'{"a": 1e999}', "not valid JSON"),
    (b'{"a": 1, "a": 2}', "duplicate key"),
    (b'{"a": ', "not valid JSON"),
])
def test_read_json_refuses_bad_files(tmp_path, content, problem):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(files.FileProblem, match=problem):
        files.read_json(str(path))


def test_directory_where_file_expected(tmp_path):
    with pytest.raises(files.FileProblem, match="is a directory"):
        files.read_text(str(tmp_path))
    with pytest.raises(files.FileProblem, match="is a directory"):
        files.atomic_write(str(tmp_path), "x")


def test_oversized_file_refused(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 100)
    with pytest.raises(files.FileProblem, match="more than"):
        files.read_bytes(str(path), max_bytes=10)


def test_atomic_write_mode_and_idempotence(tmp_path):
    path = str(tmp_path / "f.conf")
    assert files.write_if_changed(path, "a\n", 0o600)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert not files.write_if_changed(path, "a\n", 0o600)
    assert files.write_if_changed(path, "a\n", 0o644)  # mode alone is a change
    assert files.write_if_changed(path, "b\n", 0o644, check_mode=True)
    assert open(path).read() == "a\n"
    assert sorted(os.listdir(str(tmp_path))) == ["f.conf"]  # no temp file left


def test_create_exclusive_one_winner(tmp_path):
    path = str(tmp_path / "lock")
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(files.create_exclusive(path, "%d\n" % i)))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert sorted(os.listdir(str(tmp_path))) == ["lock"]


def test_file_lock_times_out(tmp_path):
    path = str(tmp_path / "state.lock")
    with files.FileLock(path):
        with pytest.raises(files.FileProblem, match="locked by another"):
            with files.FileLock(path, timeout=0.3):
                pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_check_name_accepts_only_safe_names(value):
    try:
        files.check_name(value, "name")
    except ValueError as exc:
        assert str(exc).startswith("name: ")
        return
    assert "/" not in value and ".." not in value and value.strip() == value
    assert all(ch.isalnum() or ch in "_.:+@-" for ch in value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./\x00")), min_size=0, max_size=20))
def test_confined_never_escapes(tmp_path_factory, member):
    root = str(tmp_path_factory.getbasetemp() / "root")
    os.makedirs(root, exist_ok=True)
    try:
        target = files.confined(root, member)
    except ValueError:
        return
    assert files.inside(target, root)


def test_confined_refuses_escaping_link(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "out").symlink_to("/etc")
    with pytest.raises(ValueError, match="leaves"):
        files.confined(str(root), "out/passwd")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=50))
def test_check_text_refuses_control_characters(value):
    try:
        files.check_text(value, "description")
    except ValueError as exc:
        assert "description:" in str(exc)
        assert any(ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f or ch in "\u2028\u2029" for ch in value)
