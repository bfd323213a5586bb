"""The dnf and yum plugins of the release status, run against stand-in dnf/yum APIs."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types

import pytest

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FILES = os.path.join(CHECKOUT, "roles", "release_status", "files")
STATUS = {"format": 1, "release": "9.0", "updated": "2026-12-01T02:00:00Z", "held_back": [],
          "problem_packages": [{"name": "libfuel-common", "versions": ["1.2-0mos3"], "reason": "breaks"}]}


class YumExit(Exception):
    pass


class DnfError(Exception):
    pass


@pytest.fixture()
def fake_apis(monkeypatch):
    yum = types.ModuleType("yum")
    plugins = types.ModuleType("yum.plugins")
    plugins.TYPE_CORE, plugins.PluginYumExit = 1, YumExit
    dnf = types.ModuleType("dnf")
    exceptions = types.ModuleType("dnf.exceptions")
    exceptions.Error = DnfError

    class Plugin:
        def __init__(self, base, cli):
            self.base = base

    dnf.Plugin, dnf.exceptions = Plugin, exceptions
    for name, module in (("yum", yum), ("yum.plugins", plugins), ("dnf", dnf), ("dnf.exceptions", exceptions)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.syspath_prepend(FILES)
    monkeypatch.delitem(sys.modules, "fuel_release_status", raising=False)


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(FILES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup_config(tmp_path, strict, cache=True):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    if cache:
        (cache_dir / "status.json").write_text(json.dumps(STATUS))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"url": "http://x/status.json", "keyring": "/k", "strict": strict,
                                  "cache_dir": str(cache_dir), "motd_path": "", "family": "rpm"}))
    return str(config)


def po(name, version, release, epoch="0"):
    return types.SimpleNamespace(name=name, version=version, release=release, epoch=epoch,
                                 evr=("%s:" % epoch if epoch != "0" else "") + "%s-%s" % (version, release))


class Conduit:
    def __init__(self, config, members):
        self.config, self.members = config, members

    def confString(self, section, key, default=None):  # noqa: N802
        return {"library": FILES, "config": self.config}.get(key, default)

    def getTsInfo(self):  # noqa: N802
        return types.SimpleNamespace(getMembers=lambda: self.members)


@pytest.mark.parametrize("strict", [False, True])
def test_yum_plugin(fake_apis, tmp_path, capsys, strict):
    plugin = load("yum_plugin")
    config = setup_config(tmp_path, strict)
    flagged = types.SimpleNamespace(ts_state="u", po=po("libfuel-common", "1.2", "0mos3"))
    other = types.SimpleNamespace(ts_state="i", po=po("upstream-extra", "1.0", "1"))
    removed = types.SimpleNamespace(ts_state="e", po=po("libfuel-common", "1.2", "0mos3"))
    plugin.postresolve_hook(Conduit(config, [other, removed]))
    assert capsys.readouterr().err == ""
    if strict:
        with pytest.raises(YumExit):
            plugin.postresolve_hook(Conduit(config, [flagged, other]))
    else:
        plugin.postresolve_hook(Conduit(config, [flagged, other]))
    assert "libfuel-common 1.2-0mos3 is flagged by the vendor: breaks" in capsys.readouterr().err


def test_yum_plugin_never_blocks_on_a_broken_setup(fake_apis, tmp_path, capsys):
    plugin = load("yum_plugin")
    flagged = types.SimpleNamespace(ts_state="u", po=po("libfuel-common", "1.2", "0mos3"))
    plugin.postresolve_hook(Conduit(str(tmp_path / "missing.json"), [flagged]))
    assert "did not run" in capsys.readouterr().err
    plugin.postresolve_hook(Conduit(setup_config(tmp_path, True, cache=False), [flagged]))


@pytest.mark.parametrize("strict", [False, True])
def test_dnf_plugin(fake_apis, tmp_path, capsys, strict):
    plugin_module = load("dnf_plugin")
    config = setup_config(tmp_path, strict)
    base = types.SimpleNamespace(transaction=types.SimpleNamespace(
        install_set=[po("libfuel-common", "1.2", "0mos3"), po("other", "1", "1")]))
    plugin = plugin_module.FuelReleaseStatus(base, None)
    plugin.library, plugin.config_path = FILES, config
    if strict:
        with pytest.raises(DnfError):
            plugin.resolved()
    else:
        plugin.resolved()
    assert capsys.readouterr().err.count("flagged by the vendor") == 1
    base.transaction.install_set = [po("other", "1", "1")]
    plugin.resolved()
    assert capsys.readouterr().err == ""
