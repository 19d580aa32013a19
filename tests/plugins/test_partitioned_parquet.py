"""A partitioned Parquet dataset is read in chunks and its fairness counts summed across
them: the same group counts and metrics as the same rows in one file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.fairness import chunked
from auditkit.plugins.assess.fairness.api import group_fairness
from auditkit.plugins.loaders.tabular import parquet_batches, read_parquet

from auditkit.testing import run_cli

pytest.importorskip("pyarrow")

METRICS = ("n", "selection_rate", "tpr", "fpr", "accuracy", "precision", "f1", "base_rate")


def _rows(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], size=n)
    age = rng.choice(["young", "old", None], size=n, p=[0.5, 0.45, 0.05])  # some missing
    outcome = (rng.random(n) < 0.4).astype(int)
    score = np.round(np.clip(0.3 * outcome + 0.6 * rng.random(n) + 0.05 * (region == "east"), 0, 1), 3)
    return pd.DataFrame({"score": score, "outcome": outcome, "region": region, "age": age})


def _partitioned(frame: pd.DataFrame, folder: Path) -> None:
    """Hive partitions by region (the column comes back from the folder names), several
    files per partition so chunks cut across groups."""
    for region, part in frame.groupby("region"):
        sub = folder / f"region={region}"
        sub.mkdir(parents=True)
        rest = part.drop(columns="region").reset_index(drop=True)
        for i, rows in enumerate(np.array_split(np.arange(len(rest)), 3)):
            rest.iloc[rows].to_parquet(sub / f"part-{i}.parquet", index=False)


def test_chunked_counts_equal_the_one_shot_audit_engine(tmp_path: Path) -> None:
    frame = _rows()
    _partitioned(frame, tmp_path / "ds")
    batches = list(parquet_batches(tmp_path / "ds", batch_rows=256))
    assert len(batches) > 9 and sum(len(b) for b in batches) == len(frame)  # really in chunks
    counts = chunked.cell_counts(
        batches,
        ["region", "age"],
        truth=lambda c: c["outcome"].to_numpy(),
        predicted=lambda c: (c["score"].to_numpy() >= 0.5),
    )
    one_shot = group_fairness(
        frame["outcome"], (frame["score"] >= 0.5).astype(int), frame[["region", "age"]], positive="1", bootstrap=0
    )
    for feature, columns in (("region", ["region"]), ("age", ["age"]), ("region & age", ["region", "age"])):
        view = one_shot.view(feature)
        ours = chunked.group_metrics(counts, columns)
        assert sorted(ours.index) == sorted(view.grouping.groups)
        for g, label in enumerate(view.grouping.groups):
            for metric in METRICS:
                assert ours.loc[label, metric] == pytest.approx(view.point[metric][g], abs=1e-12), (feature, label)
    # a hand count for one cell: north, young, true positive
    hand = ((frame.region == "north") & (frame.age == "young") & (frame.outcome == 1) & (frame.score >= 0.5)).sum()
    assert chunked.group_confusion(counts, ["region", "age"]).loc["north & young", "tp"] == hand


def test_a_dataset_folder_reads_as_the_same_rows(tmp_path: Path) -> None:
    frame = _rows(500)
    _partitioned(frame, tmp_path / "ds")
    read = read_parquet(tmp_path / "ds")
    key = ["region", "score", "outcome"]
    left = frame.astype({"region": str}).sort_values(key).reset_index(drop=True)
    right = read.astype({"region": str})[frame.columns].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left[key], right[key])


def _vendor(folder: Path, data: str) -> Path:
    (folder / "auditkit.toml").write_text(
        f'[data]\npath = "{data}"\nlabel = "outcome"\nsensitive = ["region", "age"]\n\n'
        f'[predictions]\nfile = "{data}"\nscore = "score"\nthreshold = 0.5\n\n'
        "[fairness]\nbootstrap = 0\nauc_bootstrap = 0\nmitigation = false\n",
        encoding="utf-8",
    )
    return folder


def test_an_audit_of_a_dataset_folder_equals_the_audit_of_one_file(tmp_path: Path) -> None:
    frame = _rows(1500)
    one, many = tmp_path / "one", tmp_path / "many"
    one.mkdir()
    frame.to_parquet(one / "eval.parquet", index=False)
    many.mkdir()
    _partitioned(frame, many / "eval")
    results = {}
    for folder, data in ((one, "eval.parquet"), (many, "eval")):
        _vendor(folder, data)
        out = tmp_path / f"out-{folder.name}"
        result = run_cli(["run", str(folder), "--out", str(out), "--format", "json", "-q", "-p", "no:privacy",
                          "-p", "no:training"])
        assert result.exit_code in (0, 1), result.output
        audit = json.loads((out / folder.name / "audit.json").read_text(encoding="utf-8"))
        assert audit["dataset"]["rows"] == len(frame)
        results[folder.name] = {(r["feature"], r["group"]): r for r in audit["sections"]["fairness"]["groups"]}
    assert results["one"].keys() == results["many"].keys()
    for key, row in results["one"].items():
        for metric in (*METRICS, "auc", "bpsn_auc", "bnsp_auc"):
            assert results["many"][key][metric] == pytest.approx(row[metric], abs=1e-12), (key, metric)


def test_a_symlink_inside_a_dataset_folder_is_refused(tmp_path: Path) -> None:
    from auditkit.data import dataset_files
    from auditkit.errors import DataError

    folder = tmp_path / "ds"
    folder.mkdir()
    _rows(50).to_parquet(tmp_path / "outside.parquet")
    (folder / "part.parquet").symlink_to(tmp_path / "outside.parquet")
    with pytest.raises(DataError, match="symlink"):
        dataset_files(folder)


def test_counts_summed_across_dask_partitions_equal_the_one_shot_result(tmp_path: Path) -> None:
    """Each file of the dataset a task on a real Dask cluster's worker processes; the tables
    they return, added, give the metrics of the same rows in memory."""
    distributed = pytest.importorskip("distributed")
    from auditkit.plugins.assess.fairness.api import dataset_group_metrics

    frame = _rows(seed=3)
    _partitioned(frame, tmp_path / "ds")
    files = sorted((tmp_path / "ds").rglob("*.parquet"))
    here = dataset_group_metrics(tmp_path / "ds", ["region", "age"], "outcome", score="score")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster, distributed.Client(cluster, set_as_default=False) as watcher:
        address = cluster.scheduler_address.removeprefix("tcp://")
        with distributed.get_task_stream(client=watcher) as stream:
            there = dataset_group_metrics(
                tmp_path / "ds", ["region", "age"], "outcome", score="score", executor=f"dask://{address}"
            )
        tasks = [t for t in stream.data if "_file_counts" in str(t["key"])]
        workers = set(cluster.scheduler_info["workers"])
    assert len(tasks) == len(files) == 9 and {t["worker"] for t in tasks} <= workers
    one_shot = group_fairness(
        frame["outcome"], (frame["score"] >= 0.5).astype(int), frame[["region", "age"]], positive="1", bootstrap=0
    )
    assert list(there) == ["region", "age", "region & age"]
    for feature, table in there.items():
        pd.testing.assert_frame_equal(table, here[feature])  # cluster and local batches: the same sums
        view = one_shot.view(feature)
        assert sorted(table.index) == sorted(view.grouping.groups)
        for g, label in enumerate(view.grouping.groups):
            for metric in METRICS:
                assert table.loc[label, metric] == pytest.approx(view.point[metric][g], abs=1e-12), (feature, label)


def test_dataset_group_metrics_takes_a_prediction_column_or_a_score(tmp_path: Path) -> None:
    from auditkit.plugins.assess.fairness.api import dataset_group_metrics

    frame = _rows(400, seed=4).assign(decision=lambda f: np.where(f["score"] >= 0.5, "yes", "no"))
    frame["outcome"] = np.where(frame["outcome"] == 1, "yes", "no")
    _partitioned(frame, tmp_path / "ds")
    by_label = dataset_group_metrics(tmp_path / "ds", ["region"], "outcome", positive="yes", prediction="decision")
    hand = frame[frame.region == "east"]
    assert by_label["region"].loc["east", "selection_rate"] == pytest.approx((hand.decision == "yes").mean())
    assert by_label["region"].loc["east", "n"] == len(hand)
    with pytest.raises(TypeError, match=r"one of prediction= .* or score="):
        dataset_group_metrics(tmp_path / "ds", ["region"], "outcome", prediction="decision", score="score")
