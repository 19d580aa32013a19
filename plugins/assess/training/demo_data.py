"""Rebuild the demo's shipped data subset from the public toxicity data sets.

    python -m auditkit.plugins.assess.training.demo_data /path/to/toxicity

A maintainer's tool: the demo itself only reads the files this writes into data/. Seeded,
so the same sources give byte-identical files. See data/SOURCES.md for the licences.
"""

from __future__ import annotations

import sys
from pathlib import Path

SEED = 20240601
HERE = Path(__file__).resolve().parent / "data"
HATECHECK_SHARE = 0.45  # of each functionality
WIKI_TRAIN_ROWS = 450
WIKI_MAX_CHARS = 400  # whole short comments only: a cut comment may lose what made it toxic
PAIRS = 150
PAIR_MAX_CHARS = 600
MADLIBS_PER_CELL = 32  # per identity and label: above fairness min_group_size (30)
NAMES = {1: "toxic", 0: "non-toxic"}


def clean(text: object) -> str:
    return " ".join(str(text).split())


def main(source: Path) -> None:
    import pandas as pd

    hatecheck = pd.read_csv(source / "hatecheck.csv")
    nonfuzzed = pd.read_csv(source / "wiki_nonfuzzed.csv")
    fuzzed = pd.read_csv(source / "wiki_fuzzed.csv")
    madlibs = pd.read_csv(source / "madlibs.csv")

    hc = hatecheck.groupby("functionality", group_keys=False).sample(frac=HATECHECK_SHARE, random_state=SEED)
    hc = pd.DataFrame(
        {
            "text": hc["text"].map(clean),
            "label": hc["hateful"].map(NAMES),
            "source": "hatecheck",
            "target": hc["target_ident"].fillna(""),
            "case": hc["functionality"],
        }
    )

    assert (nonfuzzed["rev_id"] == fuzzed["rev_id"]).all()
    differs = nonfuzzed["comment"] != fuzzed["comment"]
    # training comments never mention an identity term the fuzzing swapped: the pairs stay unseen
    plain = nonfuzzed[~differs & (nonfuzzed["comment"].map(clean).str.len() <= WIKI_MAX_CHARS)]
    toxic = plain[plain["toxic"] == 1]
    calm = plain[plain["toxic"] == 0].sample(n=WIKI_TRAIN_ROWS - len(toxic), random_state=SEED)
    wiki = pd.concat([toxic, calm]).sort_values("rev_id")
    wiki = pd.DataFrame(
        {
            "text": wiki["comment"].map(clean),
            "label": wiki["toxic"].map(NAMES),
            "source": "wikipedia",
            "target": "",
            "case": "rev_id " + wiki["rev_id"].astype(str),
        }
    )
    train = pd.concat([hc, wiki]).reset_index(drop=True)
    train.to_csv(HERE / "demo_train.csv", index=False)

    short = (
        differs & (nonfuzzed["comment"].str.len() <= PAIR_MAX_CHARS) & (fuzzed["comment"].str.len() <= PAIR_MAX_CHARS)
    )
    candidates = nonfuzzed[short]
    chosen = pd.concat(
        [
            candidates[candidates["toxic"] == 1].head(PAIRS // 3),
            candidates[candidates["toxic"] == 0],
        ]
    ).head(PAIRS)["rev_id"]
    for frame, name in (
        (nonfuzzed, "demo_pairs_original.csv"),
        (fuzzed, "demo_pairs_counterfactual.csv"),
    ):
        rows = frame[frame["rev_id"].isin(chosen)].sort_values("rev_id")
        rows.assign(comment=rows["comment"].map(clean)).to_csv(HERE / name, index=False)

    cells = madlibs[madlibs["identity"].notna()].groupby(["identity", "toxic"], group_keys=False)
    sample = cells.sample(n=MADLIBS_PER_CELL, random_state=SEED).sort_values(["identity", "toxic", "text"])
    sample = pd.DataFrame(
        {
            "text": sample["text"],
            "label": sample["toxic"].map(NAMES),
            "identity": sample["identity"],
            "template": sample["template"],
        }
    )
    sample.to_csv(HERE / "demo_madlibs.csv", index=False)
    for path in sorted(HERE.glob("demo_*.csv")):
        print(f"{path.name}: {len(pd.read_csv(path))} rows, {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
