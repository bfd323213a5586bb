# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exact Debian (dpkg) and RPM (rpmvercmp) version ordering, in plain Python.

Both follow the reference C implementations character for character, so the
results agree with ``dpkg --compare-versions`` / ``apt_pkg.version_compare``
and ``rpm.labelCompare``; the tests check that against the real libraries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class VersionError(ValueError):
    """A version string that cannot be parsed."""


def _sign(value):
    return (value > 0) - (value < 0)


try:
    TEXT_TYPES = (str, unicode)  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPES = (str,)


def _native_text(version):
    """Text on both Pythons: a Python 2 byte string is decoded as UTF-8."""
    if isinstance(version, bytes):
        return version.decode("utf-8")
    return version


def _bytes_text(version):
    """One character per UTF-8 byte, so ordering follows the C code's unsigned chars."""
    return version.encode("utf-8").decode("latin-1")


def _digit(char):
    return "0" <= char <= "9"


def _alpha(char):
    return ("a" <= char <= "z") or ("A" <= char <= "Z")


def _isalnum(char):
    return _digit(char) or _alpha(char)


# Debian ---------------------------------------------------------------------

def parse_deb(version):
    """'[epoch:]upstream[-revision]' -> (epoch, upstream, revision) as dpkg parses it."""
    if not isinstance(version, TEXT_TYPES):
        raise VersionError("Debian version must be a string, got %r" % (version,))
    version = _native_text(version)
    text = _bytes_text(version.strip())
    if not text:
        raise VersionError("empty Debian version")
    epoch = 0
    if ":" in text:
        head, text = text.split(":", 1)
        if not head or not all(_digit(c) for c in head):
            raise VersionError("Debian version %r: epoch %r is not a number" % (version, head))
        epoch = int(head)
    upstream, sep, revision = text.rpartition("-")
    if not sep:
        upstream, revision = text, ""
    if not upstream:
        raise VersionError("Debian version %r has no upstream part" % version)
    if not _digit(upstream[0]):
        raise VersionError("Debian version %r: upstream part must start with a digit" % version)
    return epoch, upstream, revision


def _deb_order(char):
    if char == "" or _digit(char):
        return 0
    if _alpha(char):
        return ord(char)
    if char == "~":
        return -1
    return ord(char) + 256


def _deb_verrevcmp(left, right):
    i = j = 0
    while i < len(left) or j < len(right):
        first_diff = 0
        while (i < len(left) and not _digit(left[i])) or (j < len(right) and not _digit(right[j])):
            lc = _deb_order(left[i] if i < len(left) else "")
            rc = _deb_order(right[j] if j < len(right) else "")
            if lc != rc:
                return lc - rc
            i += 1
            j += 1
        while i < len(left) and left[i] == "0":
            i += 1
        while j < len(right) and right[j] == "0":
            j += 1
        while i < len(left) and _digit(left[i]) and j < len(right) and _digit(right[j]):
            if not first_diff:
                first_diff = ord(left[i]) - ord(right[j])
            i += 1
            j += 1
        if i < len(left) and _digit(left[i]):
            return 1
        if j < len(right) and _digit(right[j]):
            return -1
        if first_diff:
            return first_diff
    return 0


def deb_compare(left, right):
    """-1, 0 or 1 as dpkg orders two full Debian versions."""
    le, lu, lr = parse_deb(left)
    re_, ru, rr = parse_deb(right)
    if le != re_:
        return _sign(le - re_)
    result = _deb_verrevcmp(lu, ru)
    if result:
        return _sign(result)
    return _sign(_deb_verrevcmp(lr, rr))


# RPM ------------------------------------------------------------------------

def parse_rpm(version):
    """'[epoch:]version[-release]' -> (epoch, version, release or None)."""
    if not isinstance(version, TEXT_TYPES):
        raise VersionError("RPM version must be a string, got %r" % (version,))
    version = _native_text(version)
    text = _bytes_text(version.strip())
    if not text:
        raise VersionError("empty RPM version")
    epoch = 0
    if ":" in text:
        head, text = text.split(":", 1)
        if not head or not all(_digit(c) for c in head):
            raise VersionError("RPM version %r: epoch %r is not a number" % (version, head))
        epoch = int(head)
    ver, sep, release = text.rpartition("-")
    if not sep:
        ver, release = text, None
    if not ver:
        raise VersionError("RPM version %r has no version part" % version)
    return epoch, ver, release


def rpmvercmp(left, right, tilde=True, caret=True):
    """rpm's segment comparison; ``tilde``/``caret`` off give rpm < 4.10 / < 4.15 behaviour."""
    if left == right:
        return 0
    specials = ("~" if tilde else "") + ("^" if caret else "")
    i = j = 0
    while i < len(left) or j < len(right):
        while i < len(left) and not _isalnum(left[i]) and left[i] not in specials:
            i += 1
        while j < len(right) and not _isalnum(right[j]) and right[j] not in specials:
            j += 1
        lch = left[i] if i < len(left) else ""
        rch = right[j] if j < len(right) else ""
        if tilde and "~" in (lch, rch):
            if lch != "~":
                return 1
            if rch != "~":
                return -1
            i += 1
            j += 1
            continue
        if caret and "^" in (lch, rch):
            if not lch:
                return -1
            if not rch:
                return 1
            if lch != "^":
                return 1
            if rch != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (lch and rch):
            break
        start_i, start_j = i, j
        numeric = _digit(lch)
        same_kind = _digit if numeric else _alpha
        while i < len(left) and same_kind(left[i]):
            i += 1
        while j < len(right) and same_kind(right[j]):
            j += 1
        seg_l, seg_r = left[start_i:i], right[start_j:j]
        if not seg_r:
            return 1 if numeric else -1
        if numeric:
            seg_l, seg_r = seg_l.lstrip("0"), seg_r.lstrip("0")
            if len(seg_l) != len(seg_r):
                return 1 if len(seg_l) > len(seg_r) else -1
        if seg_l != seg_r:
            return 1 if seg_l > seg_r else -1
    if i >= len(left) and j >= len(right):
        return 0
    return 1 if i < len(left) else -1


def rpm_compare(left, right, tilde=True, caret=True):
    """-1, 0 or 1 as rpm orders two full versions; a missing epoch is 0, a missing release sorts first."""
    le, lv, lr = parse_rpm(left)
    re_, rv, rr = parse_rpm(right)
    if le != re_:
        return _sign(le - re_)
    result = rpmvercmp(lv, rv, tilde, caret)
    if result:
        return result
    if lr is None or rr is None:
        return 0 if lr == rr else (-1 if lr is None else 1)
    return rpmvercmp(lr, rr, tilde, caret)
