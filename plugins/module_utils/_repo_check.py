# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Repository checks: metadata, signatures, index hashes, pins, required packages.

The backend of ``repo_check``, with APT's and dnf's semantics where they decide:

* signatures: a Release (or repomd.xml) is valid when at least one signature
  verifies against the keyring (``gpgv --status-fd``: GOODSIG + VALIDSIG, and
  no BADSIG), never by gpgv's exit code (real archives sign with two keys);
  armoured keyrings are dearmoured into a temporary binary keyring first;
  without ``signed_by`` the host's trusted keyrings are read as APT reads them;
* indexes: every index file read is checked against the size and SHA256 of the
  signed InRelease (fetched ``by-hash`` when the Release says so), or against the
  checksum repomd.xml gives for the primary metadata; a mismatch is invalid;
* streaming: an index is decompressed and parsed as it arrives, keeping only the
  packages asked for, so memory stays bounded whatever the index size;
* network: one overall deadline per request (not per read), a size cap, the
  redirects urllib bounds, and only schemes that are actually fetched;
* pins: an APT ``release`` pin is evaluated against the Release files fetched,
  so a class whose pin would match nothing is reported.

Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import bz2
import fnmatch
import hashlib
import importlib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import zlib
import xml.etree.ElementTree as ET

from ._files import TEXT_TYPE


def _optional_module(*names):
    """The first of ``names`` that imports (xz support: lzma on Python 3, backports.lzma on 2.7)."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


lzma = _optional_module("lzma", "backports.lzma")
# urllib.parse on Python 3; urlparse and urllib on 2.7 (no Ansible import: the unit logic runs anywhere).
urlsplit = _optional_module("urllib.parse", "urlparse").urlsplit
unquote = _optional_module("urllib.parse", "urllib").unquote

_REPO_NS = "{http://linux.duke.edu/metadata/repo}"
_COMMON_NS = "{http://linux.duke.edu/metadata/common}"
_REQUIREMENT = re.compile(r"\A\s*([A-Za-z0-9][A-Za-z0-9+._:-]*)\s*(?:(<<|>>|<=|>=|==|=|<|>)\s*([A-Za-z0-9.+~:^_-]+))?\s*\Z")
_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")

CHUNK = 64 * 1024
METADATA_MAX = 16 * 1024 * 1024       # Release, InRelease, repomd.xml, keys, signatures
INDEX_MAX = 512 * 1024 * 1024         # compressed index, when no size is known in advance
UNCOMPRESSED_MAX = 2 * 1024 * 1024 * 1024
LINE_MAX = 1024 * 1024
FETCHED_SCHEMES = ("http", "https", "file", "copy")
APT_TRUSTED = "/etc/apt/trusted.gpg"
APT_TRUSTED_DIR = "/etc/apt/trusted.gpg.d"


class FetchError(Exception):
    """A URL could not be read; ``status`` is the HTTP status when the server answered."""

    def __init__(self, url, reason, status=None):
        self.url = url
        self.reason = reason
        self.status = status
        Exception.__init__(self, "%s: %s" % (redact(url), reason))


class IndexProblem(Exception):
    """Metadata that is corrupt, truncated, of the wrong shape or not the signed one."""


def redact(url):
    return re.sub(r"\A([a-z][a-z0-9+.-]*://)[^/@]+@", r"\1***@", url or "", flags=re.I)


def join(base, *parts):
    return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts])


def text_of(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return TEXT_TYPE(value)


# --------------------------------------------------------------------------- fetching


class _Timeout(Exception):
    pass


class _Deadline(object):
    """One overall deadline for a request: SIGALRM interrupts a read that blocks past it."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.time() + seconds
        self.saved = None

    def remaining(self):
        return self.end - time.time()

    def __enter__(self):
        if hasattr(signal, "setitimer") and threading.current_thread().name == "MainThread":
            def expired(_signum, _frame):
                raise _Timeout()
            try:
                self.saved = signal.signal(signal.SIGALRM, expired)
                signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 0.01))
            except ValueError:
                self.saved = None
        return self

    def __exit__(self, *exc_info):
        if self.saved is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.saved)
            self.saved = None
        return False


class Fetcher(object):
    """Reads http(s), file and copy URLs in chunks with one deadline per request and a size cap.

    ``opener(url, timeout, entry)`` returns a response with ``read(n)`` (and
    ``close()``); the module passes one built on ``ansible.module_utils.urls.open_url``.
    HTTP errors must carry ``code``.
    """

    def __init__(self, opener, timeout=10):
        self.opener = opener
        self.timeout = timeout

    def stream(self, url, consumer, entry=None, max_bytes=METADATA_MAX):
        """Feed ``consumer(chunk)`` with the body of ``url``; returns the byte count."""
        scheme = urlsplit(url).scheme
        if scheme not in FETCHED_SCHEMES:
            raise FetchError(url, "scheme %r is not fetched by repo_check (%s are)" % (scheme, ", ".join(
                FETCHED_SCHEMES)))
        total = 0
        deadline = _Deadline(self.timeout)
        try:
            with deadline:
                response = self._open(url, scheme, entry)
                try:
                    read = getattr(response, "read1", None) or response.read
                    while True:
                        chunk = read(CHUNK)
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > max_bytes:
                            raise FetchError(url, "more than %d bytes" % max_bytes)
                        consumer(chunk)
                        if deadline.remaining() < 0:
                            raise _Timeout()
                finally:
                    try:
                        response.close()
                    except Exception:  # pylint: disable=broad-except
                        pass
        except _Timeout:
            raise FetchError(url, "no complete answer within %s s" % self.timeout)
        except FetchError:
            raise
        except IndexProblem:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            status = getattr(exc, "code", None)
            if isinstance(status, int) and 100 <= status < 600:
                raise FetchError(url, "HTTP %s %s" % (status, getattr(exc, "msg", "") or ""), status)
            reason = getattr(exc, "reason", None) or exc
            raise FetchError(url, text_of(str(reason)) or type(exc).__name__)
        return total

    def get(self, url, entry=None, max_bytes=METADATA_MAX):
        parts = []
        self.stream(url, parts.append, entry, max_bytes)
        return b"".join(parts)

    def _open(self, url, scheme, entry):
        if scheme in ("file", "copy"):
            path = unquote(urlsplit(url).path)
            try:
                return open(path, "rb")
            except (IOError, OSError) as exc:
                if os.path.isdir(path):
                    raise FetchError(url, "is a directory")
                status = 404 if not os.path.exists(path) else None
                raise FetchError(url, exc.strerror or str(exc), status)
        return self.opener(url, self.timeout, entry)


# --------------------------------------------------------------------------- decompression


class _Decompressor(object):
    """Incremental decompression by file name; corrupt or truncated data is an IndexProblem."""

    def __init__(self, name):
        self.name = name
        self.out = 0
        if name.endswith(".gz"):
            self.engine = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self.errors = (zlib.error,)
        elif name.endswith(".xz") or name.endswith(".lzma"):
            if lzma is None:
                raise IndexProblem("%s: xz is not available on this Python" % name)
            self.engine = lzma.LZMADecompressor()
            self.errors = (lzma.LZMAError, EOFError)
        elif name.endswith(".bz2"):
            self.engine = bz2.BZ2Decompressor()
            self.errors = (IOError, OSError, EOFError, ValueError)
        elif name.endswith((".zst", ".zck")):
            raise IndexProblem("%s: zstd/zchunk compressed metadata is not supported" % name)
        else:
            self.engine = None
            self.errors = ()

    def feed(self, data):
        if self.engine is None:
            result = data
        else:
            try:
                result = self.engine.decompress(data)
            except self.errors as exc:
                raise IndexProblem("%s: corrupt compressed data (%s)" % (self.name, exc or type(exc).__name__))
        self.out += len(result)
        if self.out > UNCOMPRESSED_MAX:
            raise IndexProblem("%s: more than %d bytes uncompressed" % (self.name, UNCOMPRESSED_MAX))
        return result

    def close(self):
        if self.engine is None:
            return b""
        rest = self.engine.flush() if hasattr(self.engine, "flush") else b""
        # zlib (Python 3), lzma and bz2 (3.3+) say whether the stream ended; Python 2.7's zlib
        # cannot, and there the size and hash checks find a truncated file.
        if getattr(self.engine, "eof", None) is False:
            raise IndexProblem("%s: truncated compressed data" % self.name)
        return rest


def decompress(name, data):
    """Whole-buffer decompression (small files and the maintainer tool)."""
    engine = _Decompressor(name)
    out = engine.feed(data)
    return out + engine.close()


# --------------------------------------------------------------------------- index parsers


class PackagesParser(object):
    """Streaming parser of an APT Packages index: keeps the versions of ``wanted`` names only."""

    def __init__(self, wanted=None):
        self.wanted = None if wanted is None else set(wanted)
        self.found = {}
        self.count = 0
        self.buf = b""
        self.name = None
        self.version = None

    def feed(self, data):
        self.buf += data
        if b"\n" not in data:
            if len(self.buf) > LINE_MAX:
                raise IndexProblem("a line of the index is longer than %d bytes" % LINE_MAX)
            return
        lines = self.buf.split(b"\n")
        self.buf = lines.pop()
        for line in lines:
            self._line(line)

    def _line(self, line):
        if not line.strip():
            self._end()
        elif line.startswith(b"Package:"):
            self.name = line[8:].strip().decode("utf-8", "replace")
        elif line.startswith(b"Version:"):
            self.version = line[8:].strip().decode("utf-8", "replace")

    def _end(self):
        if self.name:
            self.count += 1
            if self.version and (self.wanted is None or self.name in self.wanted):
                self.found.setdefault(self.name, []).append(self.version)
        self.name = self.version = None

    def close(self):
        if self.buf:
            self._line(self.buf)
            self.buf = b""
        self._end()
        return self.found


class _PrimaryTarget(object):
    """ElementTree parser target for primary.xml: name and version of each package."""

    def __init__(self, wanted):
        self.wanted = wanted
        self.found = {}
        self.count = 0
        self.path = []
        self.text = []
        self.name = None
        self.version = None
        self.root = None

    def start(self, tag, attrib):
        if self.root is None:
            self.root = tag
            if tag != _COMMON_NS + "metadata":
                raise IndexProblem("primary metadata: root element %s, not metadata" % tag)
        self.path.append(tag)
        self.text = []
        if tag == _COMMON_NS + "package":
            self.name = self.version = None
        elif tag == _COMMON_NS + "version" and len(self.path) == 3:
            epoch = attrib.get("epoch") or "0"
            self.version = "%s%s-%s" % ("" if epoch == "0" else epoch + ":", attrib.get("ver"), attrib.get("rel"))

    def end(self, tag):
        if tag == _COMMON_NS + "name" and len(self.path) == 3:
            self.name = "".join(self.text).strip()
        elif tag == _COMMON_NS + "package":
            self.count += 1
            if self.name and self.version and (self.wanted is None or self.name in self.wanted):
                self.found.setdefault(self.name, []).append(self.version)
        self.path.pop()
        self.text = []

    def data(self, data):
        if len(self.text) < 1024:
            self.text.append(data)

    def close(self):
        return self.found


class PrimaryParser(object):
    """Streaming parser of primary.xml (Python 2.7 and 3: ``XMLParser(target=...)``)."""

    def __init__(self, wanted=None):
        self.target = _PrimaryTarget(None if wanted is None else set(wanted))
        self.parser = ET.XMLParser(target=self.target)

    @property
    def count(self):
        return self.target.count

    def feed(self, data):
        try:
            self.parser.feed(data)
        except ET.ParseError as exc:
            raise IndexProblem("primary metadata is not valid XML: %s" % exc)

    def close(self):
        try:
            self.parser.close()
        except ET.ParseError as exc:
            raise IndexProblem("primary metadata is not valid XML (truncated?): %s" % exc)
        if self.target.root is None:
            raise IndexProblem("primary metadata is empty")
        return self.target.found


def parse_packages(text):
    """{name: [version]} of a whole APT Packages index (text or bytes)."""
    parser = PackagesParser()
    parser.feed(text.encode("utf-8") if not isinstance(text, bytes) else text)
    return parser.close()


def parse_primary(xml):
    """{name: [version]} of a whole primary.xml; versions are ``[epoch:]version-release``."""
    parser = PrimaryParser()
    parser.feed(xml if isinstance(xml, bytes) else xml.encode("utf-8"))
    return parser.close()


class Verified(object):
    """Feeds chunks to hash, decompressor and parser; checks size and SHA256 at the end."""

    def __init__(self, name, parser, size=None, sha256=None, algorithm="sha256"):
        self.name = name
        self.parser = parser
        self.size = size
        self.expected = sha256
        try:
            self.hash = hashlib.new(algorithm)
        except ValueError:
            raise IndexProblem("%s: unknown checksum type %s" % (name, algorithm))
        self.seen = 0
        self.engine = _Decompressor(name)

    def __call__(self, chunk):
        self.seen += len(chunk)
        if self.size is not None and self.seen > self.size:
            raise IndexProblem("%s: larger than the %d bytes the signed metadata gives (hash sum mismatch)"
                               % (self.name, self.size))
        self.hash.update(chunk)
        self.parser.feed(self.engine.feed(chunk))

    def finish(self):
        if self.size is not None and self.seen != self.size:
            raise IndexProblem("%s: %d bytes, the signed metadata gives %d (hash sum mismatch)"
                               % (self.name, self.seen, self.size))
        if self.expected and self.hash.hexdigest() != self.expected:
            raise IndexProblem("%s: hash sum mismatch (%s %s, the signed metadata gives %s)"
                               % (self.name, self.hash.name, self.hash.hexdigest(), self.expected))
        self.parser.feed(self.engine.close())
        return self.parser.close()


# --------------------------------------------------------------------------- rpm metadata


def repomd_primary(repomd):
    """(href, checksum type, checksum, size or None) of the primary metadata of repomd.xml."""
    try:
        root = ET.fromstring(repomd)
    except ET.ParseError as exc:
        raise IndexProblem("repomd.xml is not valid XML: %s" % exc)
    if root.tag != _REPO_NS + "repomd":
        raise IndexProblem("repomd.xml: root element %s, not repomd" % root.tag)
    for data in root.findall(_REPO_NS + "data"):
        if data.get("type") == "primary":
            location = data.find(_REPO_NS + "location")
            if location is None or not location.get("href"):
                break
            checksum = data.find(_REPO_NS + "checksum")
            size = data.findtext(_REPO_NS + "size")
            kind = (checksum.get("type") if checksum is not None else None) or None
            if kind == "sha":
                kind = "sha1"
            value = (checksum.text or "").strip().lower() if checksum is not None else None
            href = location.get("href")
            if href.startswith("/") or ".." in href.split("/") or "://" in href:
                raise IndexProblem("repomd.xml: primary location %r leaves the repository" % href)
            return href, kind, value or None, int(size) if size and size.strip().isdigit() else None
    raise IndexProblem("repomd.xml names no primary metadata")


def primary_location(repomd):
    """href of the primary metadata named by repomd.xml (bytes or str); ValueError when absent."""
    try:
        return repomd_primary(repomd)[0]
    except IndexProblem as exc:
        raise ValueError(str(exc))


# --------------------------------------------------------------------------- deb metadata


def clearsigned_body(text):
    """The signed text of a clearsigned InRelease; the text itself when not clearsigned.

    IndexProblem when the file is clearsigned but malformed (text outside the
    signed block, several messages): only what the signature covers is read.
    """
    begin = "-----BEGIN PGP SIGNED MESSAGE-----"
    if begin not in text:
        return text
    if not text.startswith(begin) or text.count(begin) != 1 or text.count("-----BEGIN PGP SIGNATURE-----") != 1:
        raise IndexProblem("InRelease is not one clearsigned message")
    body = text[len(begin):]
    if "\n\n" not in body:
        raise IndexProblem("InRelease has no armor header end")
    body = body.split("\n\n", 1)[1]
    body, _sep, rest = body.partition("\n-----BEGIN PGP SIGNATURE-----")
    if "-----END PGP SIGNATURE-----" not in rest or rest.split("-----END PGP SIGNATURE-----", 1)[1].strip():
        raise IndexProblem("InRelease has text after its signature")
    return "\n".join(line[2:] if line.startswith("- ") else line for line in body.split("\n")) + "\n"


def parse_release(text):
    """Fields of a Release / InRelease file (lower-case keys, folded fields kept as text)."""
    fields, key = {}, None
    for line in clearsigned_body(text).splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


def release_hashes(fields):
    """{path: (size, sha256)} of a Release file's SHA256 field."""
    hashes = {}
    for line in fields.get("sha256", "").splitlines():
        parts = line.split()
        if len(parts) == 3 and _SHA256.match(parts[0]) and parts[1].isdigit():
            hashes[parts[2]] = (int(parts[1]), parts[0])
    return hashes


def release_problems(fields, suite, sections):
    """What a Release file lacks for ``suite`` and ``sections``."""
    problems = []
    names = (fields.get("suite"), fields.get("codename"))
    if suite.rstrip("/") not in names and not suite.endswith("/"):
        problems.append("Release names suite %s / codename %s, not %s"
                        % (fields.get("suite"), fields.get("codename"), suite))
    components = fields.get("components", "").split()
    for section in sections:
        # A Release may list "updates/main" for "main" and the other way round.
        if section not in components and section.split("/")[-1] not in [c.split("/")[-1] for c in components]:
            problems.append("section %s is not among the components (%s)" % (section, " ".join(components) or "none"))
    return problems


def packages_index_names(fields, section, arch):
    """Candidate Packages files for a section/arch, best compression first, listed in Release."""
    listed = release_hashes(fields)
    stem = "%s/binary-%s/Packages" % (section, arch) if section else "Packages"
    exts = ([".xz"] if lzma is not None else []) + [".gz", ".bz2", ""]
    candidates = [stem + ext for ext in exts]
    return [c for c in candidates if c in listed] or [stem + ".gz", stem]


def _pin_value_matches(pattern, value):
    if value is None:
        return False
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        try:
            return re.search(pattern[1:-1], value) is not None
        except re.error:
            return False
    return fnmatch.fnmatchcase(value, pattern)


def pin_matches(pin, fields, uri=None):
    """True/False when an APT pin would select the index files of this Release; None if it cannot tell.

    ``release`` pins are read as APT reads them: a=Suite, n=Codename, v=Version, o=Origin,
    l=Label, c=component, b=architecture; a bare ``release NAME`` matches Suite or Codename.
    ``origin HOST`` compares the host of ``uri``. ``version`` pins select packages, not
    Release files: None.
    """
    match = re.match(r"\A(release|origin|version)\s+(.*?)\s*\Z", pin or "")
    if not match:
        return None
    kind, rest = match.groups()
    if kind == "version":
        return None
    if kind == "origin":
        host = urlsplit(uri or "").hostname or ""
        return _pin_value_matches(rest.strip('"'), host)
    if "=" not in rest:
        return _pin_value_matches(rest, fields.get("suite")) or _pin_value_matches(rest, fields.get("codename"))
    keys = {"a": "suite", "n": "codename", "v": "version", "o": "origin", "l": "label"}
    for part in rest.split(","):
        if "=" not in part:
            return None
        key, value = [p.strip() for p in part.split("=", 1)]
        if key in keys:
            if not _pin_value_matches(value, fields.get(keys[key])):
                return False
        elif key == "c":
            if not any(_pin_value_matches(value, c) for c in fields.get("components", "").split()):
                return False
        elif key == "b":
            if not any(_pin_value_matches(value, c) for c in fields.get("architectures", "").split()):
                return False
        else:
            return None
    return True


# --------------------------------------------------------------------------- signatures


def dearmor(text):
    """Binary OpenPGP data of an ASCII-armored key block."""
    text = text_of(text).replace("\r\n", "\n")
    blocks = re.findall(r"-----BEGIN PGP [A-Z ]+-----\n(.*?)-----END PGP", text, re.S)
    if not blocks:
        raise ValueError("no ASCII-armored OpenPGP block")
    data = b""
    for block in blocks:
        # Armor headers end at the first empty line; a line starting with '=' is the checksum.
        body = block.split("\n\n", 1)[1] if re.match(r"\A[A-Za-z-]+: ", block) else block
        lines = [line.strip() for line in body.splitlines() if line.strip() and not line.startswith("=")]
        try:
            data += base64.b64decode("".join(lines).encode("ascii"))
        except (TypeError, ValueError) as exc:
            raise ValueError("armored block is not valid base64: %s" % exc)
    return data


def is_armored(data):
    return data.lstrip()[:15] == b"-----BEGIN PGP "


def parse_gpg_status(out):
    """APT's reading of gpgv's status lines: (good key ids, bad, worthless, missing keys)."""
    good, valid, bad, worthless, missing = [], [], [], [], []
    for line in (out or "").splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        parts = line[9:].split()
        if not parts:
            continue
        word = parts[0]
        arg = parts[1] if len(parts) > 1 else ""
        if word == "GOODSIG":
            good.append(arg)
        elif word == "VALIDSIG":
            valid.append(arg)
        elif word == "BADSIG":
            bad.append(arg)
        elif word in ("EXPKEYSIG", "REVKEYSIG", "EXPSIG"):
            worthless.append(arg)
        elif word in ("NO_PUBKEY", "ERRSIG"):
            missing.append(arg)
    # GOODSIG names the long key id, VALIDSIG the fingerprint: a good signature has both.
    confirmed = [k for k in good if any(v.upper().endswith(k.upper()) for v in valid)]
    return confirmed, bad, worthless, missing


def signature_verdict(rc, out, err):
    """'valid' or 'invalid: why' from one gpgv run (``--status-fd 1``), whatever its exit code."""
    good, bad, worthless, missing = parse_gpg_status(out)
    if bad:
        return "invalid: bad signature from %s" % ", ".join(bad)
    if good:
        return "valid"
    if worthless:
        return "invalid: only expired or revoked keys signed it (%s)" % ", ".join(worthless)
    if missing:
        return "invalid: signed by %s, not in the keyring" % ", ".join(sorted(set(missing)))
    lines = (err or "").strip().splitlines()
    return "invalid: %s" % (lines[-1] if lines else "gpgv found no signature (exit code %d)" % rc)


class Keyrings(object):
    """Binary keyrings for gpgv, dearmouring armoured ones into a scratch directory."""

    def __init__(self, runner, tmp):
        self.runner = runner
        self.tmp = tmp
        self.count = 0

    def binary(self, path, data=None):
        """A path gpgv can read for the keyring at ``path`` (or ``data`` fetched from a URL)."""
        if data is None:
            try:
                with open(path, "rb") as handle:
                    data = handle.read(METADATA_MAX + 1)
            except (IOError, OSError) as exc:
                raise ValueError("keyring %s cannot be read: %s" % (path, exc.strerror or exc))
            if len(data) > METADATA_MAX:
                raise ValueError("keyring %s is larger than %d bytes" % (path, METADATA_MAX))
            if not is_armored(data):
                return path
        self.count += 1
        target = os.path.join(self.tmp, "keyring-%d.gpg" % self.count)
        if is_armored(data):
            source = os.path.join(self.tmp, "keyring-%d.asc" % self.count)
            with open(source, "wb") as handle:
                handle.write(data)
            gpg = self.runner.binary("gpg", required=False) if hasattr(self.runner, "binary") else None
            if gpg:
                rc, _out, err = self.runner([gpg, "--batch", "--yes", "--homedir", self.tmp, "--dearmor", "-o",
                                             target, source])
                if rc != 0:
                    raise ValueError("keyring %s cannot be dearmoured: %s" % (path, (err or "").strip()[-200:]))
                return target
            data = dearmor(data)
        with open(target, "wb") as handle:
            handle.write(data)
        return target


def host_keyrings(trusted=APT_TRUSTED, trusted_dir=APT_TRUSTED_DIR):
    """The keyrings APT trusts without Signed-By: trusted.gpg and trusted.gpg.d/*.gpg|*.asc."""
    paths = [trusted] if os.path.isfile(trusted) else []
    try:
        names = sorted(os.listdir(trusted_dir))
    except OSError:
        names = []
    for name in names:
        # APT reads only names of these characters (apt-pkg's file-name check).
        if re.match(r"\A[A-Za-z0-9_.-]+\.(gpg|asc)\Z", name) and os.path.isfile(os.path.join(trusted_dir, name)):
            paths.append(os.path.join(trusted_dir, name))
    return paths


def gpgv_verify(runner, keyring_paths, signature, data=None, homedir=None):
    """Verdict of gpgv over ``signature`` (and detached ``data``) with the given binary keyrings."""
    gpgv = runner.binary("gpgv", required=False) if hasattr(runner, "binary") else "gpgv"
    if not gpgv:
        return "not_checked: gpgv is not installed"
    argv = [gpgv, "--status-fd", "1"]
    if homedir:
        argv += ["--homedir", homedir]
    for keyring in keyring_paths:
        argv += ["--keyring", keyring]
    argv.append(signature)
    if data:
        argv.append(data)
    rc, out, err = runner(argv)
    return signature_verdict(rc, out, err)


# --------------------------------------------------------------------------- requirements


def parse_requirement(text):
    """``name``, ``name >= 1.2``, ``name=1.2-0mos1`` as (name, op, version)."""
    match = _REQUIREMENT.match(text or "") if isinstance(text, (str, TEXT_TYPE)) else None
    if not match:
        raise ValueError("%r is not a requirement (NAME [OP VERSION], OP one of = == >= <= >> << > <)" % (text,))
    name, op, version = match.groups()
    if op == "==":
        op = "="
    return name, op, version


def _native(text):
    """``text`` as the native ``str`` (bytes on Python 2.7; versions are ASCII, others fail later)."""
    if isinstance(text, str):
        return text
    try:
        return str(text)
    except UnicodeError:
        return text


def _versions():
    """The version-order module, imported when packages are resolved (not needed to check metadata)."""
    from . import _versions as versions  # pylint: disable=import-outside-toplevel
    return versions


def compare_for_requirement(kind, candidate, wanted):
    """Order of ``candidate`` against a requirement's version.

    rpm: like rpm's dependency matching, a requirement without a release compares
    epoch and version only. deb: dpkg's order of the full versions.
    """
    versions = _versions()
    deb_compare, parse_rpm, rpm_compare = versions.deb_compare, versions.parse_rpm, versions.rpm_compare
    # The version module takes native strings; on Python 2.7 the module's parameters are unicode.
    candidate, wanted = _native(candidate), _native(wanted)
    if kind != "rpm":
        return deb_compare(candidate, wanted)
    if parse_rpm(wanted)[2] is None:
        epoch, version = parse_rpm(candidate)[:2]
        return rpm_compare(_native("%d:%s" % (epoch, version)), _native(wanted if ":" in wanted else "0:" + wanted))
    return rpm_compare(candidate, wanted)


_OPS = {"=": lambda c: c == 0, ">=": lambda c: c >= 0, "<=": lambda c: c <= 0, ">>": lambda c: c > 0,
        ">": lambda c: c > 0, "<<": lambda c: c < 0, "<": lambda c: c < 0}


def resolve(requirements, indexes, kind):
    """Each requirement with the versions (and repositories) that satisfy it.

    ``indexes``: {repo name: {package: [versions]}}; ``kind``: rpm or deb (version order).
    An unmet requirement also lists ``available``: every version of that name the set has.
    """
    results = []
    version_error = _versions().VersionError if requirements else ValueError
    for text in requirements:
        name, op, version = parse_requirement(text)
        found, available = [], []
        for repo in sorted(indexes):
            for candidate in indexes[repo].get(name, []):
                available.append({"repo": repo, "version": candidate})
                try:
                    if op is None or _OPS[op](compare_for_requirement(kind, candidate, version)):
                        found.append({"repo": repo, "version": candidate})
                except version_error:
                    continue
        result = {"requirement": text, "name": name, "satisfied": bool(found), "found": found}
        if not found:
            result["available"] = available
        results.append(result)
    return results


def describe_missing(result):
    """'name >= 2 (available: 1.0 in vendor, 1.1 in mu1)' or '... (no repository has name)'."""
    if result.get("available"):
        return "%s (available: %s)" % (result["requirement"], ", ".join(
            "%s in %s" % (a["version"], a["repo"]) for a in result["available"][:20]))
    return "%s (no repository of the set has %s)" % (result["requirement"], result["name"])


# --------------------------------------------------------------------------- the checks


class Checker(object):
    """Checks the entries of a normalized set; one result dict per entry plus the package indexes."""

    def __init__(self, fetcher, runner, tmp, packages=(), verify_signatures=True, verify_indexes=False,
                 arch="amd64", trusted=APT_TRUSTED, trusted_dir=APT_TRUSTED_DIR):
        self.fetch = fetcher
        self.runner = runner
        self.tmp = tmp
        self.keyrings = Keyrings(runner, tmp)
        self.wanted = set(parse_requirement(p)[0] for p in packages)
        self.read_indexes = bool(packages) or verify_indexes
        self.verify_signatures = verify_signatures
        self.arch = arch
        self.trusted = trusted
        self.trusted_dir = trusted_dir
        self.counter = 0

    def _scratch(self, name, data):
        self.counter += 1
        path = os.path.join(self.tmp, "%d-%s" % (self.counter, name))
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def _verify(self, keyring_paths, signed, detached=None):
        try:
            binaries = [self.keyrings.binary(p) for p in keyring_paths]
        except ValueError as exc:
            return "invalid: %s" % exc
        signature = self._scratch("signature", detached if detached is not None else signed)
        data = self._scratch("data", signed) if detached is not None else None
        return gpgv_verify(self.runner, binaries, signature, data, homedir=self.tmp)

    # ----------------------------------------------------------------- rpm

    def check_rpm(self, entry):
        url = join(entry["uri"], "repodata/repomd.xml")
        result = {"metadata_url": redact(url), "problems": [], "signature": "not_checked", "packages": 0}
        try:
            repomd = self.fetch.get(url, entry)
        except FetchError as exc:
            return self._unfetched(result, exc), {}
        result["reachable"] = True
        try:
            href, kind, checksum, size = repomd_primary(repomd)
        except IndexProblem as exc:
            result["problems"].append(str(exc))
            return result, {}
        if self.verify_signatures and entry.get("gpgkey"):
            result["signature"] = self._rpm_signature(entry, url, repomd)
        index = {}
        if result["signature"].startswith("invalid"):
            if self.read_indexes:
                result["problems"].append("primary metadata not read: the repomd.xml signature is invalid")
        elif self.read_indexes:
            if not checksum:
                result["problems"].append("repomd.xml gives no checksum for %s" % href)
            else:
                try:
                    sink = Verified(href, PrimaryParser(self.wanted), size, checksum, kind or "sha256")
                    self.fetch.stream(join(entry["uri"], href), sink, entry, INDEX_MAX)
                    index = sink.finish()
                    result["packages"] = sink.parser.count
                except (FetchError, IndexProblem) as exc:
                    result["problems"].append("primary metadata: %s" % exc)
                    index = {}
        return result, index

    def _rpm_signature(self, entry, url, repomd):
        try:
            signature = self.fetch.get(url + ".asc", entry)
        except FetchError as exc:
            # dnf checks repomd.xml signatures only with repo_gpgcheck; many repositories sign packages only.
            return ("not_checked: %s" % exc) if exc.status == 404 else "invalid: %s" % exc
        keyrings = []
        for key_url in entry["gpgkey"].split():
            try:
                data = self.fetch.get(key_url, entry)
                keyrings.append(self.keyrings.binary(key_url, data))
            except (FetchError, ValueError) as exc:
                return "invalid: key %s: %s" % (redact(key_url), exc)
        try:
            return gpgv_verify(self.runner, keyrings, self._scratch("repomd.xml.asc", signature),
                               self._scratch("repomd.xml", repomd), homedir=self.tmp)
        except (IOError, OSError) as exc:
            return "invalid: %s" % exc

    # ----------------------------------------------------------------- deb

    @staticmethod
    def _unfetched(result, exc):
        if exc.status is not None and 400 <= exc.status < 500:
            # The server answered: the repository (suite) is not there - invalid, not unreachable.
            result.update(reachable=True, problems=[str(exc)])
        else:
            result.update(reachable=False, problems=[str(exc)])
        return result

    def _dists(self, entry):
        if entry["suite"].endswith("/"):
            return join(entry["uri"], entry["suite"])
        return join(entry["uri"], "dists", entry["suite"])

    def check_deb(self, entry):
        dists = self._dists(entry)
        result = {"problems": [], "signature": "not_checked", "packages": 0}
        text, signed, errors, statuses = None, False, [], []
        for name in ("InRelease", "Release"):
            url = join(dists, name)
            try:
                data = self.fetch.get(url, entry)
            except FetchError as exc:
                errors.append(str(exc))
                statuses.append(exc.status)
                continue
            result["metadata_url"], raw, signed = redact(url), data, name == "InRelease"
            text = data.decode("utf-8", "replace")
            break
        if text is None:
            result["metadata_url"] = redact(join(dists, "InRelease"))
            answered = all(s is not None and 400 <= s < 500 for s in statuses)
            result.update(reachable=answered, problems=(
                ["no InRelease or Release for suite %s (%s)" % (entry["suite"], "; ".join(errors))]
                if answered else errors))
            return result, {}, None
        result["reachable"] = True
        try:
            fields = parse_release(text)
        except IndexProblem as exc:
            result["problems"].append(str(exc))
            result["signature"] = "invalid: %s" % exc
            return result, {}, None
        result["release"] = dict((key, fields.get(key)) for key in ("origin", "label", "suite", "codename"))
        result["problems"] += release_problems(fields, entry["suite"], entry["section"])
        if self.verify_signatures:
            result["signature"] = self._deb_signature(entry, dists, raw, signed)
        index = {}
        if result["signature"].startswith("invalid"):
            # APT uses nothing of a repository whose Release does not verify: neither does the check.
            if self.read_indexes:
                result["problems"].append("package indexes not read: the Release signature is invalid")
        elif self.read_indexes and entry["type"] == "deb":
            index = self._deb_indexes(entry, dists, fields, result)
        return result, index, fields

    def _deb_signature(self, entry, dists, raw, signed):
        keyrings = [entry["signed_by"]] if entry.get("signed_by") else host_keyrings(self.trusted, self.trusted_dir)
        if not keyrings:
            return "not_checked: no keyring (no signed_by, no trusted keyring on the host)"
        if signed:
            return self._verify(keyrings, raw)
        try:
            detached = self.fetch.get(join(dists, "Release.gpg"), entry)
        except FetchError as exc:
            return "invalid: no InRelease and no Release.gpg (%s)" % exc
        return self._verify(keyrings, raw, detached)

    def _deb_indexes(self, entry, dists, fields, result):
        hashes = release_hashes(fields)
        if not hashes:
            result["problems"].append("the Release file has no SHA256 hashes: APT refuses it")
            return {}
        by_hash = fields.get("acquire-by-hash", "").strip().lower() == "yes"
        index = {}
        for section in entry["section"] or [""]:
            names = [n for n in packages_index_names(fields, section, self.arch) if n in hashes]
            if not names:
                result["problems"].append("no package index for %s/%s in the Release file"
                                          % (section or "flat repository", self.arch))
                continue
            name = names[0]
            size, sha256 = hashes[name]
            urls = []
            if by_hash:
                urls.append(join(dists, os.path.dirname(name), "by-hash", "SHA256", sha256))
            urls.append(join(dists, name))
            problem = None
            for url in urls:
                try:
                    sink = Verified(name, PackagesParser(self.wanted), size, sha256)
                    self.fetch.stream(url, sink, entry, size + 1)
                    found = sink.finish()
                except FetchError as exc:
                    problem = str(exc)
                    if exc.status == 404:
                        continue  # by-hash missing: the plain name, as APT falls back
                    break
                except IndexProblem as exc:
                    problem = "%s (index ignored)" % exc
                    break
                problem = None
                result["packages"] += sink.parser.count
                for pkg, versions in found.items():
                    index.setdefault(pkg, []).extend(versions)
                break
            if problem:
                result["problems"].append("package index %s: %s" % (name, problem))
        return index

    def run(self, entries):
        """(results, indexes) for normalized ``entries`` (enabled ones give indexes)."""
        results, indexes, releases = [], {}, []
        for entry in entries:
            fields = None
            if not entry.get("uri"):
                result, index = {"reachable": False, "signature": "not_checked", "packages": 0, "problems": [
                    "no uri given and no repository %s on this host" % entry["name"]]}, {}
            elif entry["type"] == "rpm":
                result, index = self.check_rpm(entry)
            else:
                result, index, fields = self.check_deb(entry)
            if fields is not None:
                releases.append((entry, fields))
            result = dict({"name": entry["name"], "type": entry["type"], "uri": redact(entry.get("uri") or "")},
                          **result)
            results.append(result)
            if entry.get("enabled", True):
                indexes[entry["name"]] = index
        self._check_pins(entries, results, releases)
        return results, indexes

    @staticmethod
    def _check_pins(entries, results, releases):
        by_name = dict((r["name"], r) for r in results if r["type"] != "rpm")
        for entry in entries:
            if entry["type"] == "rpm" or entry.get("priority") is None or not entry.get("pin"):
                continue
            result = by_name.get(entry["name"])
            own = [f for e, f in releases if e is entry]
            if result is None or not own:
                continue  # nothing fetched for it: its own problem says why
            verdicts = [pin_matches(entry["pin"], fields, e["uri"]) for e, fields in releases]
            if None in verdicts:
                continue
            result["pin"] = entry["pin"]
            if not pin_matches(entry["pin"], own[0], entry["uri"]):
                fields = own[0]
                result["problems"].append(
                    "pin '%s' (priority %d) does not match this repository's Release (Suite %s, Codename %s, "
                    "Origin %s, Label %s): the class's priority would not apply"
                    % (entry["pin"], entry["priority"], fields.get("suite"), fields.get("codename"),
                       fields.get("origin"), fields.get("label")))


def make_tmp():
    return tempfile.mkdtemp(prefix="repo_check.")


def remove_tmp(path):
    shutil.rmtree(path, ignore_errors=True)
