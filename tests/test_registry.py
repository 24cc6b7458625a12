"""The generic registry: snake_case names, did-you-mean, lazy built-ins, entry-point plugins."""

from __future__ import annotations

import sys
import types

import pytest

from irpilot import registry as registry_mod
from irpilot.errors import RegistryError
from irpilot.registry import Registry, check_name


def test_register_get_and_listing():
    r: Registry[type] = Registry("widget")

    @r.register("blue_widget")
    class Blue:
        pass

    @r.register()
    class Red:
        name = "red_widget"

    assert r.get("blue_widget") is Blue and r.get("red_widget") is Red
    assert r.names() == ["blue_widget", "red_widget"] and list(r) == r.names()
    assert "blue_widget" in r and "green_widget" not in r and len(r) == 2
    assert r.items()[0] == ("blue_widget", Blue)


def test_did_you_mean():
    r: Registry[int] = Registry("tool")
    r.add("motion_deblur", 1)
    r.add("defocus_deblur", 2)
    with pytest.raises(RegistryError) as info:
        r.get("motion_debluring")
    msg = str(info.value)
    assert "unknown tool 'motion_debluring'" in msg and "Did you mean 'motion_deblur'" in msg
    assert "Known: defocus_deblur, motion_deblur" in msg
    assert isinstance(info.value, KeyError)  # dict-like callers can catch KeyError
    with pytest.raises(RegistryError) as info:
        r.get("zzz")
    assert "Did you mean" not in str(info.value)


def test_names_must_be_snake_case():
    assert check_name("ok_name2") == "ok_name2"
    for bad in ("Bad", "with-dash", "1abc", "", "a b", None):
        with pytest.raises(ValueError, match="snake_case"):
            check_name(bad)
    r: Registry[int] = Registry("x")
    with pytest.raises(ValueError, match="snake_case"):
        r.add("MotionBlur", 1)


def test_duplicates_need_replace():
    r: Registry[int] = Registry("x")
    r.add("a", 1)
    r.add("a", 1)  # the same object again is harmless
    with pytest.raises(ValueError, match="already registered"):
        r.add("a", 2)
    r.add("a", 2, replace=True)
    assert r.get("a") == 2
    r.remove("a")
    assert "a" not in r


def test_builtin_modules_load_lazily(monkeypatch):
    r: Registry[int] = Registry("lazy", builtin_modules=("fake_irpilot_builtin",))
    mod = types.ModuleType("fake_irpilot_builtin")
    loaded = []

    def _exec():
        loaded.append(True)
        r.add("from_module", 7)

    monkeypatch.setitem(sys.modules, "fake_irpilot_builtin", mod)
    monkeypatch.setattr(registry_mod.importlib, "import_module", lambda name: _exec())
    assert loaded == []  # nothing imported at construction
    assert r.get("from_module") == 7 and loaded == [True]
    r.names()
    assert loaded == [True]  # only once


class _EP:
    def __init__(self, name, obj=None, exc=None):
        self.name, self._obj, self._exc = name, obj, exc

    def load(self):
        if self._exc:
            raise self._exc
        return self._obj


def test_entry_point_plugins_and_broken_plugin(monkeypatch):
    eps = [_EP("good_plugin", obj=42), _EP("broken_plugin", exc=ImportError("no module named foo"))]
    monkeypatch.setattr(registry_mod.metadata, "entry_points", lambda group: eps if group == "irpilot.things" else [])
    r: Registry[int] = Registry("thing", entry_point_group="irpilot.things")
    assert r.get("good_plugin") == 42
    with pytest.raises(RegistryError, match="plugin failed to load: ImportError: no module named foo"):
        r.get("broken_plugin")


def test_degradation_registry_is_a_registry():
    from irpilot.degrade import DEGRADATIONS

    assert isinstance(DEGRADATIONS, Registry)
    with pytest.raises(RegistryError, match="Did you mean 'jpeg'"):
        DEGRADATIONS.get("jpg")


def test_temporarily_registers_then_restores():
    r = Registry[int]("numbers")
    r.add("kept", 1)
    with r.temporarily({"kept": 2, "extra": 3}):
        assert r.get("kept") == 2 and r.get("extra") == 3
    assert r.get("kept") == 1 and "extra" not in r.names()
    with pytest.raises(KeyError), r.temporarily({"extra": 3}):
        raise KeyError("the block fails")
    assert "extra" not in r.names()  # restored even when the block raises
