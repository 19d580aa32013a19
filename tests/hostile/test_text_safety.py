"""Untrusted text stays inert and bounded: Markdown, charts, the model card, PEFT regexes,
``[model] max_length``.

A model dir's owner writes its currency, group names, labels, README.md and
adapter_config.json. None of it may turn into markup in summary.md, into mathtext in a
chart, into a 100 MB audit.json, into a regex that hangs loading, or into a crash past the
model's position table.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.testing import MINIMAL_BUILTINS, build_tiny_bert, read_audit_json, run_audit, sentiment_frame

# a currency that tries every trick a ticket renderer knows
CURRENCY = (
    "EUR\n# Verdict: PASS <img src=http://evil.example/p.png> @team #12 [x](http://evil.example) "
    "www.evil.example | **b** `c` ~~d~~ &#64;x $\\notacommand$"
)
GROUPS = ("$\\notacommand$", "$25k-$50k")


@pytest.fixture(scope="module")
def hostile_business(tmp_path_factory):
    """One audit with fairness, market, valuation and summary.md; mathtext group names and
    a markup-laden currency in both [market] and [valuation]."""
    from auditkit.testing import write_model_dir

    root = tmp_path_factory.mktemp("text-safety")
    frame = sentiment_frame(n=120, groups=GROUPS)
    model_dir = write_model_dir(
        root / "tox",
        frame=frame,
        sensitive=("group",),
        config={"market": {"currency": CURRENCY}, "valuation": {"currency": CURRENCY}},
    )
    builtins = (*MINIMAL_BUILTINS, "fairness", "market", "valuation", "markdown", "html")
    # html: charts are drawn only for a format that shows them
    return run_audit(model_dir, root / "out", formats=("json", "md", "html"), builtins=builtins)


# ------------------------------------------------------------------ summary.md


def _rendered(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(text)


def test_currency_is_inert_in_summary(hostile_business) -> None:
    run = hostile_business
    assert run.error is None and not run.errors(), run.errors()
    text = run.text("summary.md")
    assert "(EUR # Verdict" in text.replace("\\", "")  # the currency is there, flattened onto one line
    html = _rendered(text)
    # the headings are auditkit's own: one h2 (the verdict line), h3 per block, nothing else
    assert re.findall(r"<h(\d)>", html).count("2") == 1 and "<h1>" not in html, html
    assert "Verdict: PASS</h" not in html
    # whole elements: a file's sha256 in <code> may start with "c"
    for tag in ("<img", "<a ", "<strong>b</strong>", "<code>c</code>", "<del>", "<script"):
        assert tag not in html, tag
    assert "&#64;" not in html  # the entity stayed text (a browser would show "@x")
    assert "@team" not in text and "#12" not in text  # a word joiner breaks mentions and refs
    assert "@\u2060team" in text and "#\u206012" in text
    for table in re.findall(r"(?:^\|.*\n?)+", text, re.M):  # the currency's pipe adds no column
        counts = {len(re.findall(r"(?<!\\)\|", row)) for row in table.splitlines()}
        assert len(counts) == 1, table


@pytest.mark.parametrize(
    "raw",
    [
        "# Verdict: PASS",
        "> quoted",
        "- item",
        "+ item",
        "1. item",
        "3) item",
        "===",
        "<b>x</b>",
        "&lt;b&gt;",
        "[a](http://e.example)",
        "![a](http://e.example/i.png)",
        "<http://e.example>",
        "https://e.example",
        "www.e.example",
        "*em* _em_ **st**",
        "```\ncode\n```",
        "a | b",
    ],
)
def test_md_text_renders_as_one_literal_paragraph(raw: str) -> None:
    """Whatever the text, at the start of a line it renders as one <p> of its own words."""
    from html import unescape

    from auditkit.plugins.render.markdown_report import md_text

    html = _rendered(md_text(raw)).strip()
    assert html.startswith("<p>") and html.endswith("</p>") and html.count("<") == 2, html
    shown = unescape(html[3:-4]).replace("\u2060", "")
    assert shown == " ".join(raw.split())


# ------------------------------------------------------------------ charts


def test_mathtext_group_names_keep_the_fairness_section(hostile_business) -> None:
    run = hostile_business
    assert run.exit_code != 3, run.errors()
    section = run.section("fairness")
    svg = "".join(chart.svg for chart in section.charts)
    for group in GROUPS:
        assert f">{group}<" in svg, group  # drawn as the literal text, not as math
    market = "".join(chart.svg for chart in run.section("market").charts)
    assert "$\\notacommand$" in market  # the currency in an axis label, literal too


def test_every_text_artist_is_literal() -> None:
    """Tick labels, legend entries, titles and free text: no mathtext anywhere."""
    from auditkit.charts import new_figure, to_chart

    fig, ax = new_figure()
    ax.bar([0, 1], [1, 2], label=GROUPS[0])
    ax.set_xticks([0, 1], labels=list(GROUPS))
    ax.set_title("spend ($x^2$)")
    ax.legend()
    ax.text(0, 1, "$\\frac{a}{b}$")
    svg = to_chart(fig, "x", "t", "a").svg
    texts = re.findall(r"<text[^>]*>([^<]*)<", svg)
    assert texts.count(GROUPS[0]) == 2 and GROUPS[1] in texts  # tick label and legend entry
    assert "spend ($x^2$)" in texts and "$\\frac{a}{b}$" in texts


# ------------------------------------------------------------------ the model card


def _alias_bomb(path: Path) -> None:
    lines = ["---", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    lines += ["base_model: bomb", "---", "card text"]
    path.write_text("\n".join(lines), encoding="utf-8")


def test_training_does_not_expand_a_yaml_alias_bomb(tiny_model_dir: Path, tmp_path: Path) -> None:
    _alias_bomb(tiny_model_dir / "README.md")
    run = run_audit(tiny_model_dir, tmp_path / "out", builtins=(*MINIMAL_BUILTINS, "training"))
    assert not run.errors(), run.errors()
    size = run.files["audit.json"].stat().st_size
    assert size < 1_000_000, size  # 10⁶ "lol"s (≥ 6 MB) if the aliases were expanded
    audit = read_audit_json(run.files["audit.json"])
    assert "lol" not in json.dumps(audit)
    assert audit["sections"]["training"]["model_card"] == {}  # refused, so no card at all


@pytest.mark.parametrize("host_card", [{"text": "card text"}, {}], ids=["loader-read-it", "no-loader-card"])
def test_training_reads_a_one_gigabyte_card_only_in_part(tmp_path: Path, host_card: dict) -> None:
    """With or without the loader's card, at most the 1 MB cap is read (no 1 GB string)."""
    from auditkit.plugins.assess.training.assess import read_files

    card = tmp_path / "README.md"
    card.write_text("---\nlicense: mit\nbase_model: tiny\n---\n# Tox\n", encoding="utf-8")
    with open(card, "r+b") as handle:
        handle.truncate(1 << 30)  # sparse: 1 GB on paper, nothing on disk
    tracemalloc.start()
    try:
        files = read_files(tmp_path, "training.json", dict(host_card))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, peak  # the old reader held the whole GB (twice: bytes and text)
    expected = {} if host_card else {"license": "mit", "base_model": "tiny"}  # the loader's card is final
    assert files.card == expected


def test_training_card_alias_bomb_without_loader_card(tmp_path: Path) -> None:
    from auditkit.plugins.assess.training.assess import read_files

    _alias_bomb(tmp_path / "README.md")
    assert read_files(tmp_path, "training.json", {}).card == {}


# ------------------------------------------------------------------ PEFT regexes


def _adapter(tmp_path: Path, **fields) -> Path:
    """A LoRA adapter on a local tiny BERT, with adapter_config.json fields replaced."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    base_dir = build_tiny_bert(tmp_path / "base")
    adapter_dir = tmp_path / "adapter"
    model = get_peft_model(
        AutoModelForSequenceClassification.from_pretrained(base_dir),
        LoraConfig(task_type="SEQ_CLS", r=2, lora_alpha=4, target_modules=["query", "value"]),
    )
    model.save_pretrained(adapter_dir)
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    cfg.update(base_model_name_or_path="../base", **fields)
    (adapter_dir / "adapter_config.json").write_text(json.dumps(cfg))
    sentiment_frame(n=20).to_csv(adapter_dir / "eval.csv", index=False)
    (adapter_dir / "auditkit.toml").write_text('[data]\npath = "eval.csv"\n')
    return adapter_dir


# Fails on every BERT module name after ~2^30 ways of splitting it into words
CATASTROPHIC = r"([a-z0-9_]+\.?)+X"


def test_catastrophic_target_modules_regex_is_refused_quickly(tmp_path: Path) -> None:
    """Run as a subprocess with a timeout: the bug this guards against is a hang."""
    adapter_dir = _adapter(tmp_path, target_modules=CATASTROPHIC)
    auditkit = Path(sys.executable).with_name("auditkit")
    result = subprocess.run(  # the timeout only ends a hang; the refusal is what is asserted
        [str(auditkit), "run", str(adapter_dir), "--out", str(tmp_path / "out"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("auditkit: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "adapter_config.json" in errors[0] and "'target_modules'" in errors[0]
    assert not list((tmp_path / "out").glob("*/audit.json"))


def test_plain_target_modules_regex_still_loads(tmp_path: Path) -> None:
    """A real adapter's regex is not refused, and peft applies it to the same modules."""
    adapter_dir = _adapter(tmp_path, target_modules=r".*\.(query|value)")
    run = run_audit(adapter_dir, tmp_path / "out", builtins=MINIMAL_BUILTINS)
    assert run.error is None and not run.errors(), (run.error, run.errors())
    assert run.audit.model.extra["adapter"]["target_modules"] == r".*\.(query|value)"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_modules", "(a+)+$"),
        ("exclude_modules", "(a|aa)+$"),
        ("rank_pattern", {"(\\w+)*query": 4}),
        ("modules_to_save", ["classifier", "(.*)*pooler"]),
        ("layers_pattern", "(x)\\1"),
        ("target_modules", ".*" * 4 + "query"),
        ("target_modules", "q" * 300),
    ],
)
def test_risky_patterns_are_named_in_one_line(tmp_path: Path, field: str, value) -> None:
    from auditkit.plugins.loaders.hf.patterns import check_adapter_patterns

    from auditkit.errors import ModelDirError

    where = tmp_path / "adapter_config.json"
    with pytest.raises(ModelDirError) as caught:
        check_adapter_patterns({field: value}, where)
    message = str(caught.value)
    assert "\n" not in message and str(where) in message and repr(field) in message


@pytest.mark.parametrize(
    "value",
    [["query", "value"], "query", r".*\.(query|value)", r"bert\.encoder\.layer\.\d+\.attention\.self\.(query|key)"],
)
def test_ordinary_patterns_pass(value) -> None:
    from auditkit.plugins.loaders.hf.patterns import check_adapter_patterns

    check_adapter_patterns({"target_modules": value, "modules_to_save": ["classifier"]}, Path("adapter_config.json"))


# ------------------------------------------------------------------ [model] max_length


def test_max_length_above_the_position_table_is_capped_with_a_warning(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from auditkit.testing import write_model_dir

    long = " ".join(["the movie was very good"] * 60)  # ~300 word pieces, the table holds 128
    frame = pd.DataFrame({"text": [long, "bad"] * 10, "label": [1, 0] * 10, "group": ["a", "b"] * 10})
    model_dir = write_model_dir(tmp_path / "m", frame=frame, config={"model": {"max_length": 1000}})
    assert json.loads((model_dir / "config.json").read_text())["max_position_embeddings"] == 128

    run = run_audit(model_dir, tmp_path / "out", builtins=MINIMAL_BUILTINS)
    assert run.error is None and not run.errors(), (run.error, run.errors())
    (finding,) = run.findings(code="max-length-capped")
    assert finding.severity == "warn"
    assert "[model] max_length" in finding.message and "1000" in finding.message and "128" in finding.message
    assert run.json["model"]["max_length"].items() >= {"asked": 1000, "limit": 128, "used": 128}.items()

    # the model's own forward on texts truncated to its 128 positions gives the same probabilities
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with torch.no_grad():
        encoded = tokenizer(list(frame["text"]), truncation=True, max_length=128, padding=True, return_tensors="pt")
        expected = torch.softmax(model(**encoded).logits, -1).numpy()
    np.testing.assert_allclose(run.audit.predictions.proba, expected, atol=1e-5)


def test_default_max_length_is_held_to_the_limit_silently(tmp_path: Path) -> None:
    """The built-in 256 asked for nothing: a small model runs at its limit, no warning."""
    from auditkit.testing import write_model_dir

    frame = pd.DataFrame({"text": [" ".join(["good"] * 200), "bad"] * 5, "label": [1, 0] * 5, "group": ["a"] * 10})
    run = run_audit(write_model_dir(tmp_path / "m", frame=frame), tmp_path / "out", builtins=MINIMAL_BUILTINS)
    assert run.error is None and not run.errors(), (run.error, run.errors())
    assert not run.findings(code="max-length-capped") and "max_length" not in run.json["model"]


@pytest.mark.parametrize(("model_type", "size", "pad"), [("bert", 24, 0), ("roberta", 26, 1)])
def test_position_limit_is_the_longest_input_the_model_takes(model_type: str, size: int, pad: int) -> None:
    """Checked against the model itself: the limit runs, one more word piece fails."""
    import torch
    from auditkit.plugins.loaders.hf.lengths import position_limit
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.for_model(
        model_type,
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=8,
        max_position_embeddings=size,
        pad_token_id=pad,
    )
    limit = position_limit(config.to_dict())
    model = AutoModel.from_config(config).eval()
    with torch.no_grad():
        model(input_ids=torch.full((1, limit), 5))
        with pytest.raises((IndexError, RuntimeError)):  # past the table, or a shape mismatch
            model(input_ids=torch.full((1, limit + 1), 5))
