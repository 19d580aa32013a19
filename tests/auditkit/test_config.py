"""Config schemas: defaults, precedence, and errors that name file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.config import ConfigSection, Option, build_config, read_toml, render_toml
from auditkit.errors import ConfigError

SCHEMAS = {
    "data": ConfigSection("data", [Option("path", "str", "", "file"), Option("sensitive", "list[str]", [], "cols")]),
    "fairness": ConfigSection(
        "fairness",
        [
            Option("min_group_size", "int", 30, "smallest group", minimum=1),
            Option("constraints", "dict[float]", {"demographic_parity_difference": 0.1}, "tolerances"),
            Option("level", "float", 0.95, "CI level", minimum=0.5, maximum=0.999),
        ],
    ),
    "privacy": ConfigSection("privacy", [Option("epsilon_budget", "float", 0.0, "budget")]),
    "privacy.dp": ConfigSection("privacy.dp", [Option("noise_multiplier", "float", 0.0, "sigma")]),
}


def test_defaults_then_layers_in_order() -> None:
    config = build_config(
        SCHEMAS,
        [
            ("a.toml", {"fairness": {"min_group_size": 10}, "privacy": {"dp": {"noise_multiplier": 1.1}}}),
            ("b.toml", {"fairness": {"level": 0.9}}),
            ("command line", {"fairness": {"min_group_size": 50}}),
        ],
    )
    assert config.section("fairness") == {
        "min_group_size": 50,
        "constraints": {"demographic_parity_difference": 0.1},
        "level": 0.9,
    }
    assert config.get("privacy.dp.noise_multiplier") == 1.1
    assert config.section("privacy")["epsilon_budget"] == 0.0
    assert config.origin("fairness.min_group_size") == "command line"
    assert config.origin("fairness.level") == "b.toml"
    assert config.origin("data.path") == "defaults"


def test_table_option_is_replaced_whole() -> None:
    config = build_config(SCHEMAS, [("a.toml", {"fairness": {"constraints": {"equalized_odds_difference": 0.2}}})])
    assert config.section("fairness")["constraints"] == {"equalized_odds_difference": 0.2}


@pytest.mark.parametrize(
    ("layer", "needles"),
    [
        ({"fairnes": {}}, ["a.toml", "unknown section [fairnes]", "fairness"]),
        ({"fairness": {"min_size": 3}}, ["a.toml", "unknown key 'min_size' in [fairness]", "min_group_size"]),
        ({"fairness": {"min_group_size": "ten"}}, ["[fairness] min_group_size = 'ten'", "expected an integer"]),
        ({"fairness": {"min_group_size": 0}}, ["expected a number >= 1"]),
        ({"fairness": {"level": 2.0}}, ["expected a number <= 0.999"]),
        ({"fairness": {"constraints": {"x": "y"}}}, ["expected a table of numbers"]),
        ({"data": {"sensitive": "race"}}, ["[data] sensitive = 'race'", "expected a list of strings"]),
        ({"privacy": {"dp": {"sigma": 1}}}, ["unknown key 'sigma' in [privacy.dp]"]),
        ({"data": 3}, ["[data] must be a table"]),
    ],
)
def test_errors_name_file_key_and_expectation(layer: dict, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(SCHEMAS, [("a.toml", layer)])
    message = str(caught.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_sections_of_disabled_plugins_are_ignored() -> None:
    config = build_config(SCHEMAS, [("a.toml", {"market": {"budget": 1}})], ignore_sections=["market"])
    assert "market" not in config.values


def test_bool_is_not_an_int() -> None:
    with pytest.raises(ConfigError):
        build_config(SCHEMAS, [("a.toml", {"fairness": {"min_group_size": True}})])


def test_rendered_toml_round_trips(tmp_path: Path) -> None:
    values = {"data": {"path": 'we"ird\\name.csv', "sensitive": ["gender", "race"]}}
    text = render_toml(SCHEMAS, values, header="starting config")
    path = tmp_path / "auditkit.toml"
    path.write_text(text)
    parsed = read_toml(path)
    assert parsed["data"] == {"path": 'we"ird\\name.csv', "sensitive": ["gender", "race"]}
    assert parsed["fairness"]["constraints"] == {"demographic_parity_difference": 0.1}
    assert parsed["privacy"]["dp"]["noise_multiplier"] == 0.0
    assert "# smallest group" in text
    build_config(SCHEMAS, [(str(path), parsed)])


def test_read_toml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[data]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_toml(bad)
    bad.write_text("[data]\npath = 'a'\npath = 'b'\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        read_toml(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        read_toml(tmp_path / "missing.toml")
