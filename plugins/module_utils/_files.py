# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the modules read and write: bounded, validated reads; atomic writes; locks.

Runs on every node Python ansible-core 2.16 supports (2.7, 3.6+): no f-strings,
no annotations, no ``raise ... from``, ``io.open`` for text.

* ``read_bytes`` / ``read_text`` / ``read_json``: a missing file is ``None``;
  a directory, an unreadable, oversized, non-UTF-8 or wrongly shaped file is a
  ``FileProblem`` naming the file, never a traceback.
* ``atomic_write``: temp file in the same directory, fsync, chmod, rename,
  fsync of the directory; a reader sees the old or the new content, never half.
* ``create_exclusive``: a file created only if absent (``O_CREAT|O_EXCL``), the
  primitive of every lock file; ``FileLock``: an ``flock`` around a
  read-modify-write of a state file.
* ``check_name`` / ``check_text`` / ``confined``: names, text and paths that
  end up on disk, refused before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import math
import os
import re
import stat
import tempfile

MAX_READ = 16 * 1024 * 1024
NAME_MAX = 255
CONTROL_RE = re.compile(u"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u2028\u2029]")
CONTROL_NO_NEWLINE_RE = re.compile(u"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")

try:
    TEXT_TYPE = unicode  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPE = str


class FileProblem(Exception):
    """A file the module reads or writes cannot be used; the message names it."""

    def __init__(self, path, problem):
        self.path = path
        self.problem = problem
        Exception.__init__(self, "%s: %s" % (path, problem))


def to_text(value):
    """Text on both Pythons (bytes decoded as UTF-8, refusing invalid bytes)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return TEXT_TYPE(value)


def makedirs(path, mode=0o755):
    """``os.makedirs(path, exist_ok=True)`` for Python 2.7; a file in the way is a FileProblem."""
    try:
        os.makedirs(path, mode)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise FileProblem(path, "cannot create the directory: %s" % (exc.strerror or exc))
    if not os.path.isdir(path):
        raise FileProblem(path, "exists and is not a directory")


def read_bytes(path, max_bytes=MAX_READ):
    """Content of a regular file, or None when it does not exist."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise FileProblem(path, "cannot be read: %s" % (exc.strerror or exc))
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem(path, "is a directory where a file is expected")
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem(path, "is not a regular file")
    if info.st_size > max_bytes:
        raise FileProblem(path, "is %d bytes, more than the %d accepted" % (info.st_size, max_bytes))
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except (IOError, OSError) as exc:
        raise FileProblem(path, "cannot be read: %s" % (exc.strerror or exc))
    if len(data) > max_bytes:
        raise FileProblem(path, "is more than %d bytes" % max_bytes)
    return data


def read_text(path, max_bytes=MAX_READ):
    """UTF-8 text of a file, or None when it does not exist."""
    data = read_bytes(path, max_bytes)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(path, "is not UTF-8 text (byte %d)" % exc.start)


def _refuse_constant(name):
    raise ValueError("%s is not a number JSON allows" % name)


def loads_json(text, what="document"):
    """Strict JSON: NaN and Infinity refused, duplicate keys refused, non-finite floats refused."""
    def pairs(items):
        result = {}
        for key, value in items:
            if key in result:
                raise ValueError("duplicate key %r" % (key,))
            result[key] = value
        return result

    def finite(text_value):
        value = float(text_value)
        if math.isinf(value) or math.isnan(value):
            raise ValueError("number %s is out of range" % text_value)
        return value

    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=pairs, parse_float=finite)
    except RuntimeError:  # RecursionError on Python 3: a document nested too deeply
        raise ValueError("nested too deeply")


def read_json(path, shape=dict, max_bytes=MAX_READ):
    """Parsed JSON of a file, None when missing; FileProblem when corrupt or not of ``shape``."""
    text = read_text(path, max_bytes)
    if text is None:
        return None
    try:
        data = loads_json(text)
    except ValueError as exc:
        raise FileProblem(path, "is not valid JSON: %s" % exc)
    if shape is not None and not isinstance(data, shape):
        raise FileProblem(path, "holds JSON of the wrong shape: %s where %s is expected"
                          % (type(data).__name__, getattr(shape, "__name__", "another type")))
    return data


def dumps_json(data):
    """The JSON every module writes: sorted keys, two-space indent, final newline, no NaN."""
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, content, mode=0o644):
    """Replace ``path`` by ``content`` (bytes or text) atomically, with ``mode``."""
    if not isinstance(content, bytes):
        content = TEXT_TYPE(content).encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise FileProblem(path, "is a directory where a file is expected")
    base = os.path.basename(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % base[:64], suffix=".tmp", dir=directory)
    except OSError as exc:
        raise FileProblem(path, "cannot write in %s: %s" % (directory, exc.strerror or exc))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except (IOError, OSError) as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise FileProblem(path, "cannot be written: %s" % (getattr(exc, "strerror", None) or exc))
    _fsync_dir(directory)


def file_state(path):
    """(bytes, mode) of a file, (None, None) when missing: what an idempotence check compares."""
    data = read_bytes(path)
    if data is None:
        return None, None
    return data, stat.S_IMODE(os.stat(path).st_mode)


def needs_write(path, content, mode=0o644):
    """True when the file's bytes or mode differ from what would be written."""
    if not isinstance(content, bytes):
        content = TEXT_TYPE(content).encode("utf-8")
    data, current_mode = file_state(path)
    return data != content or current_mode != mode


def write_if_changed(path, content, mode=0o644, check_mode=False):
    """Write only when bytes or mode differ; returns True when it (would have) changed."""
    if not needs_write(path, content, mode):
        return False
    if not check_mode:
        atomic_write(path, content, mode)
    return True


def create_exclusive(path, content, mode=0o644):
    """Create ``path`` with ``content`` only if it does not exist; False when it already does.

    The content is written to a temp file first and linked into place, so a
    concurrent reader never sees an empty or half-written lock file.
    """
    if not isinstance(content, bytes):
        content = TEXT_TYPE(content).encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path)[:64], suffix=".new", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                return False
            raise FileProblem(path, "cannot be created: %s" % (exc.strerror or exc))
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _fsync_dir(directory)
    return True


class FileLock(object):
    """``with FileLock(path):`` an exclusive ``flock`` on ``path`` (created 0600), waiting up to ``timeout`` s."""

    def __init__(self, path, timeout=30.0, sleep=None, clock=None):
        import time  # pylint: disable=import-outside-toplevel
        self.path = path
        self.timeout = timeout
        self.fd = None
        self._sleep = sleep or time.sleep
        self._clock = clock or time.time

    def __enter__(self):
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise FileProblem(self.path, "cannot open the lock: %s" % (exc.strerror or exc))
        deadline = self._clock() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise FileProblem(self.path, "cannot be locked: %s" % (exc.strerror or exc))
            if self._clock() >= deadline:
                os.close(self.fd)
                self.fd = None
                raise FileProblem(self.path, "is locked by another process (waited %s s)" % self.timeout)
            self._sleep(0.2)

    def __exit__(self, *exc_info):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


def check_text(value, field, allow_newline=False, max_len=4096):
    """Text that is written into a file: no control characters, bounded length."""
    if not isinstance(value, (TEXT_TYPE, str)):
        raise ValueError("%s: must be a string, not %s" % (field, type(value).__name__))
    pattern = CONTROL_RE if allow_newline else CONTROL_NO_NEWLINE_RE
    match = pattern.search(to_text(value))
    if match:
        raise ValueError("%s: control character %r is not allowed" % (field, match.group(0)))
    if len(value) > max_len:
        raise ValueError("%s: %d characters, at most %d are allowed" % (field, len(value), max_len))
    return value


NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.:+@-]*\Z")


def check_name(value, field, max_len=NAME_MAX - 16, pattern=NAME_RE):
    """A name used in a file name: full-string match, no ``..``, bounded length."""
    if not isinstance(value, (TEXT_TYPE, str)) or not pattern.match(value):
        raise ValueError("%s: %r is not a valid name (letters, digits, and _ . : + @ - after the first "
                         "character)" % (field, value))
    if ".." in value:
        raise ValueError("%s: %r must not contain '..'" % (field, value))
    if len(value) > max_len:
        raise ValueError("%s: %d characters, at most %d are allowed" % (field, len(value), max_len))
    return value


def confined(root, member):
    """The real path of ``member`` under ``root``; ValueError when it would leave ``root``."""
    if not member or member.startswith("/") or "\x00" in member:
        raise ValueError("%r is not a relative path" % (member,))
    parts = member.split("/")
    if ".." in parts:
        raise ValueError("%r contains '..'" % (member,))
    root_real = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root_real, member))
    if target != root_real and not target.startswith(root_real + os.sep):
        raise ValueError("%r leaves %s" % (member, root))
    return target


def inside(path, directory):
    """True when ``path`` is ``directory`` or lies under it (real paths compared)."""
    path_real = os.path.realpath(path)
    dir_real = os.path.realpath(directory)
    return path_real == dir_real or path_real.startswith(dir_real.rstrip(os.sep) + os.sep)
