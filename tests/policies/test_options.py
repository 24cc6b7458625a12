"""Typed policy options: command-line strings and Python values become one dataclass."""

from __future__ import annotations

import pytest

from irpilot.errors import ConfigError
from irpilot.policies.base import POLICIES, make_policy
from irpilot.policies.explore import ExploreOptions
from irpilot.policies.options import StepOptions, parse_options


def test_strings_are_converted_by_type():
    opts = parse_options(ExploreOptions, {"threshold": "0.6", "accept": "first", "degradations": "noise,dejpeg"})
    assert opts.threshold == 0.6 and opts.accept == "first" and opts.tasks == ("noise", "jpeg")
    # a realistic degradation's name (as a degraded file's record gives it) stands for its task
    assert parse_options(StepOptions, {"tasks": "real_motion_blur,real_jpeg"}).tasks == ("motion_blur", "jpeg")
    assert parse_options(StepOptions, {"check": "off"}).check is None
    assert parse_options(StepOptions, {"check": "0.2"}).check == 0.2


def test_unknown_options_and_bad_values_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean threshold"):
        parse_options(ExploreOptions, {"treshold": "0.5"})
    with pytest.raises(ConfigError, match="'best' or 'first'"):
        parse_options(ExploreOptions, {"accept": "sometimes"})
    with pytest.raises(ConfigError, match="unknown task or degradation"):
        parse_options(StepOptions, {"tasks": "sharpen"})


def test_specs_and_keywords_build_the_same_policy():
    a = make_policy("fixed:threshold=0.7:tasks=haze")
    b = POLICIES.get("fixed")(threshold=0.7, tasks=["haze"])
    assert a.options == b.options
    first = make_policy("explore_first")
    assert first.options.accept == "first" and make_policy("explore").options.accept == "best"
    with pytest.raises(ConfigError, match="fixed:nope=1"):
        make_policy("fixed:nope=1")
