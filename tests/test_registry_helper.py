"""earshot.registry: names -> factories, lazy entries imported only on first use, clear errors."""

from __future__ import annotations

import sys

import pytest

from earshot.errors import ConfigError
from earshot.registry import IDENTIFIER, Registry, lazy_exports


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A module on sys.path that nothing has imported yet; it counts its imports."""
    name = f"earshot_test_plugin_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("IMPORTS = 1\n\ndef double(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_lazy_entries_import_on_first_load_only(plugin):
    reg = Registry("widget", {"abs": abs, "double": f"{plugin}:double"})
    assert list(reg) == ["abs", "double"] and reg.names() == ["abs", "double"] and len(reg) == 2
    assert reg["double"] == f"{plugin}:double" and reg.is_lazy("double") and not reg.is_lazy("abs")
    assert plugin not in sys.modules  # registering and listing import nothing
    assert reg.load("abs") is abs and plugin not in sys.modules
    assert reg.load("double")(21) == 42 and plugin in sys.modules
    assert reg.load("double") is sys.modules[plugin].double and reg["double"] == f"{plugin}:double"


def test_register_as_call_item_and_decorator():
    reg = Registry("widget")

    @reg.register("twice")
    def twice(x):
        return 2 * x

    reg["neg"] = lambda x: -x
    assert reg.register("ident", len) is len
    assert reg.load("twice") is twice and reg.load("neg")(3) == -3 and reg.names() == ["ident", "neg", "twice"]
    del reg["neg"]
    assert "neg" not in reg and reg.get("neg") is None
    reg.register("style-ae", len)
    for bad in ("two words", "1st", "", "-x", None):
        with pytest.raises(ConfigError, match="invalid widget name"):
            reg.register(bad, len)
    strict = Registry("term", pattern=IDENTIFIER)
    with pytest.raises(ConfigError, match=r"invalid term name 'a-b': it must match"):
        strict.register("a-b", len)


def test_errors_name_the_kind_the_known_entries_and_the_module(plugin):
    reg = Registry("widget", {"b": len, "a": abs, "ghost": "earshot.no_such_module:thing",
                              "noattr": f"{plugin}:triple", "bad": "no_colon"})
    with pytest.raises(ConfigError, match=r"unknown widget 'zzz'; known: a, b, bad, ghost, noattr"):
        reg.load("zzz")
    with pytest.raises(ConfigError, match=r"widget 'ghost' is unavailable: earshot.no_such_module cannot be imported"):
        reg.load("ghost")
    with pytest.raises(ConfigError, match=r"has no 'triple'"):
        reg.load("noattr")
    with pytest.raises(ConfigError, match="module:attribute"):
        reg.load("bad")
    assert reg.available("a") and not reg.available("ghost") and not reg.available("zzz")
    with pytest.raises(ConfigError, match="known: none"):
        Registry("empty").load("x")


def test_lazy_exports_import_a_package_name_on_first_access(plugin, monkeypatch):
    import types

    package = types.ModuleType("earshot_test_package")
    package.__getattr__ = lazy_exports(package.__name__, {"double": f"{plugin}:double"})
    monkeypatch.setitem(sys.modules, package.__name__, package)
    assert plugin not in sys.modules
    assert package.double(4) == 8 and plugin in sys.modules
    assert "double" in vars(package)  # cached: the next lookup is a plain attribute
    with pytest.raises(AttributeError, match="no attribute 'triple'"):
        package.triple


def test_importing_the_losses_imports_no_learned_loss_or_network():
    import subprocess

    code = ("import sys, earshot.losses as L\n"
            "heavy = [m for m in sys.modules if m.startswith(('earshot.models', 'earshot.losses.codec', "
            "'earshot.losses.jnd', 'earshot.losses.style'))]\n"
            "assert not heavy, heavy\n"
            "assert L.JNDLoss.__module__ == 'earshot.losses.jnd' and 'earshot.losses.jnd' in sys.modules\n"
            "from earshot.losses import CodecLoss, ContentLoss, StyleLoss\n"
            "print(CodecLoss.__name__, StyleLoss.__name__, ContentLoss.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["CodecLoss", "StyleLoss", "ContentLoss"]


def test_the_four_registries_are_registries():
    from earshot.data.perturb import PERTURBATIONS
    from earshot.losses.registry import LOSSES
    from earshot.metrics.registry import METRICS
    from earshot.train import recipe

    for reg, kind in ((LOSSES, "loss"), (METRICS, "metric"), (PERTURBATIONS, "perturbation"),
                      (recipe._REGISTRY, "recipe")):
        assert isinstance(reg, Registry) and reg.kind == kind
        with pytest.raises(ConfigError, match=f"unknown {kind} 'nope'"):
            reg.load("nope")
    assert LOSSES.is_lazy("jnd") and METRICS["jnd"].fn == "earshot.metrics.jnd:jnd_distance"
    assert recipe.get_recipe("toy") is recipe._REGISTRY.load("toy")
