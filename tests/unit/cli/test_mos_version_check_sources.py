"""tools.mos_version_check names the release and the source that could not be read."""

from __future__ import annotations

import gzip


def test_failing_source_is_named(tmp_path, capsys):
    from tools import mos_version_check as cli  # pylint: disable=import-outside-toplevel

    good = tmp_path / "good-Packages.gz"
    good.write_bytes(gzip.compress(b"Package: nova\nVersion: 1-0mos1\n\n"))
    corrupt = tmp_path / "corrupt-Packages.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 not gzip at all")
    missing = tmp_path / "absent-Packages.gz"
    assert cli.main(["downgrades", "6.0=%s" % good, "6.1=%s,%s" % (good, corrupt)]) == 2
    err = capsys.readouterr().err
    assert "release 6.1: source %s:" % corrupt in err and "corrupt compressed data" in err, err
    assert cli.main(["downgrades", "6.0=%s,%s" % (good, missing), "6.1=%s" % good]) == 2
    err = capsys.readouterr().err
    assert "release 6.0: source %s:" % missing in err, err
