"""Audits scores another system produced: a vendor's risk score, a model served elsewhere.

A model dir holding no weights but an ``auditkit.toml`` whose ``[predictions]`` names a
file is audited from that file; a positive prediction means ``score >= threshold``. The
file is read through the ``auditkit_load_data`` hook, as the evaluation data is, so any
enabled data loader reads it and a disabled one (``-p no:tabular``) stays disabled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import ConfigSection, ModelInfo, Option, Predictions, hookimpl
from auditkit.config import Config
from auditkit.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    return ConfigSection(
        "predictions",
        [
            Option(
                "file",
                "str",
                "",
                "scores file (CSV, Parquet or JSONL) relative to the model dir; may be the [data] file",
                path=True,
            ),
            Option("score", "str", "", "column with the score; a positive prediction is score >= threshold"),
            Option("threshold", "float", 0.5, "decision threshold on the score"),
            Option("label", "str", "", "column with the predicted label (instead of score and threshold)"),
            Option("id", "str", "", "column that joins predictions to evaluation rows (empty: same row order)"),
        ],
        help="Predictions mode: audit scores from a file instead of running a model.",
    )


@hookimpl(tryfirst=True)
def auditkit_load_model(model_dir: Path, config: Config, hook: Any) -> PredictionsHandle | None:
    settings = config.section("predictions")
    if not settings.get("file"):
        return None
    from auditkit.data import data_sha256, resolve_data_path
    from auditkit.model_dir import list_files

    where = config.origin("predictions.file")
    if not settings["score"] and not settings["label"]:
        raise ConfigError(f"{where}: [predictions] needs score (with threshold) or label: the column to audit")
    path = resolve_data_path(model_dir, config, "predictions.file")
    info = ModelInfo(
        name=model_dir.name,
        path=str(model_dir),
        task="scores",
        labels=[],
        loader="predictions",
        sha256=data_sha256(path),  # a Parquet dataset folder hashes its files
        files=list_files(model_dir),
        extra={
            "predictions_file": str(path),
            "score_column": settings["score"] or None,
            "threshold": settings["threshold"] if settings["score"] else None,
        },
    )
    return PredictionsHandle(info, path, settings, hook.auditkit_load_data)


class PredictionsHandle:
    """A :class:`auditkit.ModelHandle` that reads predictions from a file; it cannot score new
    texts (no ``predict_proba``). ``read`` is the ``auditkit_load_data`` hook's caller."""

    def __init__(self, info: ModelInfo, path: Path, settings: dict[str, Any], read: Any) -> None:
        self.info = info
        self.path = path
        self.settings = settings
        self._read = read

    def cache_key(self) -> str:
        keys = ("score", "threshold", "label", "id")
        return "|".join(["predictions", self.info.sha256, *(str(self.settings[k]) for k in keys)])

    def caches(self) -> None:
        """Nothing to cache: the scores file is read as fast as a cache would be."""
        return None

    def predict(self, frame: pd.DataFrame, config: Config) -> Predictions:
        import numpy as np

        from auditkit.data import align_labels, positive_label

        source = self._aligned(frame, config)
        labels = list(self.info.labels)
        column = self.settings["score"]
        if column:
            if len(labels) != 2:
                raise DataError(
                    f"{config.origin('predictions.score')}: score and threshold need a binary label column; "
                    f"[data] label has {len(labels)} labels: {labels[:6]}"
                )
            scores = self._scores(source, column)
            positive = positive_label(config.section("data")["positive"], labels, config.origin("data.positive"))
            negative = labels[0] if labels[1] == positive else labels[1]
            # two label objects referenced n times, not n new strings (10 million rows)
            above = scores >= self.settings["threshold"]
            predicted = np.asarray([negative, positive], dtype=object)[above.view(np.int8)]
            return Predictions(labels=predicted, classes=labels, scores=scores, source="file")
        column = self.settings["label"]
        self._require(source, column, "label")
        predicted = align_labels(source[column], labels, f"{self.path}: column {column!r}")
        return Predictions(labels=predicted, classes=labels, source="file")

    def _aligned(self, frame: pd.DataFrame, config: Config) -> pd.DataFrame:
        from auditkit.data import read_table, resolve_data_path

        data_path = resolve_data_path(Path(self.info.path), config)
        if data_path.resolve() == self.path.resolve():
            return frame
        # the [data] settings, as every loader gets them, but this file's own path and format
        spec = {**config.section("data"), "path": str(self.path), "format": "auto"}
        other = read_table(self._read, spec, config)
        key = self.settings["id"]
        if key:
            for table, name in ((frame, "[data] file"), (other, str(self.path))):
                if key not in table.columns:
                    raise DataError(
                        f"{name}: no column {key!r} ([predictions] id); columns: {', '.join(map(str, table.columns))}"
                    )
            if other[key].duplicated().any():
                raise DataError(f"{self.path}: column {key!r} ([predictions] id) repeats values; ids must be unique")
            joined = frame[[key]].merge(other, on=key, how="left", indicator=True)
            unmatched = int((joined["_merge"] != "both").sum())
            if unmatched:
                raise DataError(f"{self.path}: {unmatched} evaluation rows have no prediction with the same {key!r}")
            return joined.drop(columns="_merge")
        if len(other) != len(frame):
            raise DataError(
                f"{self.path}: {len(other)} predictions for {len(frame)} evaluation rows; "
                "set [predictions] id to join them by a key column"
            )
        return other.reset_index(drop=True)

    def _scores(self, source: pd.DataFrame, column: str) -> Any:
        import numpy as np
        import pandas as pd

        self._require(source, column, "score")
        scores = pd.to_numeric(source[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(scores)
        if bad.any():
            first = int(np.flatnonzero(bad)[0]) + 1
            raise DataError(
                f"{self.path}: column {column!r} has {int(bad.sum())} missing, non-numeric or infinite "
                f"scores (first at row {first}); fix or drop those rows"
            )
        return scores

    def _require(self, source: pd.DataFrame, column: str, role: str) -> None:
        if column not in source.columns:
            raise DataError(
                f"{self.path}: no column {column!r} ([predictions] {role}); the columns are: "
                + ", ".join(repr(c) for c in source.columns)
            )
