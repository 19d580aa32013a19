"""A kept result is read back as it was computed; anything else is computed again."""

from __future__ import annotations

import math

from auditkit import result_cache


def test_kept_then_read_back_and_keys_differ_by_input(tmp_path) -> None:
    calls = []

    def compute(value: float) -> dict:
        calls.append(value)
        return {"value": value, "nan": math.nan, "groups": ["a", "b"]}

    first = result_cache.entry(str(tmp_path), "step", {"seed": 0})
    assert first is not None and first != result_cache.entry(str(tmp_path), "step", {"seed": 1})
    made = result_cache.remember(first, lambda: compute(0.1), dict, dict)
    again = result_cache.remember(first, lambda: compute(0.2), dict, dict)
    assert calls == [0.1] and again["value"] == 0.1 and math.isnan(again["nan"]) and again["groups"] == ["a", "b"]
    assert made["value"] == again["value"]
    assert not list(first.parent.glob(".tmp-*"))  # written atomically, nothing left over


def test_no_cache_dir_or_an_unwritable_one_only_costs_time(tmp_path) -> None:
    assert result_cache.entry(None, "step", {}) is None
    assert result_cache.remember(None, lambda: 3, int, int) == 3
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    path = result_cache.entry(str(blocked), "step", {})  # its folder cannot be made
    assert result_cache.remember(path, lambda: 4, int, int) == 4
    assert result_cache.remember(path, lambda: 5, int, int) == 5  # nothing was kept
