"""Settings: the network precision and how it reaches the tools and the result cache."""

from __future__ import annotations

import numpy as np
import pytest

from irpilot import config
from irpilot.config import configure, network_dtype, settings
from irpilot.errors import ConfigError


@pytest.fixture
def precision():
    """Restore the precision setting after a test changes it."""
    before = settings.precision
    yield
    configure(precision=before)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bfloat16_only_on_a_cpu_with_native_bfloat16(monkeypatch, native: bool) -> None:
    monkeypatch.setattr(config, "cpu_has_native_bf16", lambda: native)
    assert network_dtype("cpu", "auto") == ("bfloat16" if native else "float32")
    assert network_dtype("cuda", "auto") == "float32"
    assert network_dtype("cpu", "float32") == "float32"
    assert network_dtype("cuda:0", "bfloat16") == "bfloat16"


def test_default_precision_is_float32(monkeypatch) -> None:
    monkeypatch.delenv("IRPILOT_PRECISION", raising=False)
    assert config.Settings().precision == "float32"
    monkeypatch.setenv("IRPILOT_PRECISION", "bfloat16")
    assert config.Settings().precision == "bfloat16"


def test_configure_is_part_of_the_python_api(precision) -> None:
    import irpilot

    irpilot.configure(precision="bfloat16")
    assert settings.precision == "bfloat16"


def test_unknown_precision_is_a_clear_error(precision) -> None:
    with pytest.raises(ConfigError, match="must be one of"):
        configure(precision="fp8")
    with pytest.raises(ConfigError, match="must be one of"):
        network_dtype("cpu", "half")


def test_native_bf16_is_read_from_the_cpu_flags() -> None:
    zen4 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
    skylake = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n"
    sapphire = "flags\t\t: avx512f amx_bf16 amx_tile\n"
    assert config.bf16_in_cpuinfo(zen4) and config.bf16_in_cpuinfo(sapphire)
    assert not config.bf16_in_cpuinfo(skylake)
    assert not config.bf16_in_cpuinfo("")  # no flags line (not x86 Linux): float32


def test_precision_setting_reaches_network_tools_and_splits_the_cache_key(precision) -> None:
    from irpilot.pool import Pool
    from irpilot.tools import TOOLS

    cls = TOOLS.get("dncnn_color_blind")
    img = np.zeros((3, 8, 8), np.float32)
    pool = Pool(cache=False)
    try:
        configure(precision="float32")
        assert cls.precision_tag() == "" and cls().dtype == "float32"
        key32, classical32 = pool.key("dncnn_color_blind", img), pool.key("bilateral", img)
        configure(precision="bfloat16")
        assert cls.precision_tag() == "bf16" and cls().dtype == "bfloat16"
        assert cls(precision="float32").dtype == "float32"  # a tool option overrides the setting
        assert pool.key("dncnn_color_blind", img) != key32
        assert pool.key("bilateral", img) == classical32  # classical tools do not depend on it
    finally:
        pool.close()


def test_cli_precision_option_sets_the_setting_and_the_workers_environment(precision, monkeypatch, capsys) -> None:
    import os

    from irpilot.cli import build_parser, main

    monkeypatch.setenv("IRPILOT_PRECISION", "auto")  # restored after the test
    assert main(["--precision", "float32"]) == 0  # no command: prints the help
    assert settings.precision == "float32" and os.environ["IRPILOT_PRECISION"] == "float32"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--precision", "fp16"])


def test_cli_reports_a_bad_precision_in_the_environment(precision, monkeypatch, capsys) -> None:
    from irpilot.cli import main

    monkeypatch.setattr(settings, "precision", "half")  # as read from IRPILOT_PRECISION=half
    assert main(["tools"]) == 2
    assert "IRPILOT_PRECISION" in capsys.readouterr().err
