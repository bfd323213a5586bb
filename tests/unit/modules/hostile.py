"""Hypothesis strategies of hostile values shared by the property tests of the repository modules."""

from __future__ import annotations

from hypothesis import strategies as st

CONTROL = st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x7f", "\u2028", "\x85", "\t"])
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=10), CONTROL, st.text(max_size=10)),
    st.sampled_from(["", " ", "..", "../x", "/", "a/../../b", "a" * 250, "a" * 5000, "]", "[x]", "#", "a b",
                     "amd64] http://other.example/ x main #", "s\n", "x\r[evil]\rgpgcheck=0", "é", "\udcff"[:0] + "ü",
                     "http://h/a b", "http://[::1", "file:relative", "mirror+http://m/", "release n=s\nPin: x",
                     "-1", "99999999999999999999", "1e400", "NaN"]),
)
NASTY_SCALAR = st.one_of(NASTY_TEXT, st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.booleans(),
                         st.none(), st.floats(allow_nan=True, allow_infinity=True))
NASTY_VALUE = st.one_of(NASTY_SCALAR, st.lists(NASTY_SCALAR, max_size=3),
                        st.dictionaries(st.text(max_size=5), NASTY_SCALAR, max_size=2))

NASTY_FILE = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"\xff\xfe\x00latin \xe9", b"[a]\nbaseurl=http://x/\n[a]\nbaseurl=http://y/\n",
                     b"deb [arch=amd64 http://x/ y main\n", b"Types: deb\nURIs: http://d/\nSuites: a b\n Components\n",
                     b"Package: *\nPin: release n=x\nPin-Priority: 99999999999999999999999\n",
                     b"Types: deb\nURIs: http://m/deb\nSuites: s t\nComponents: main\n\n\n\nEnabled: maybe\n",
                     b"deb http://m/deb s main\r\ndeb http://m/deb t main\n"]),
    st.just("DIR"),
)
