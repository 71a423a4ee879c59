"""A trained model with everything needed to re-score it later, and its storage.

A :class:`SegmentModel` keeps the fitted pipeline, the feature spec it was
trained on (so the same columns are rebuilt at any date), the threshold or
size that turns scores into members, the evaluation and the versions of
scikit-learn and segnb. :meth:`SegmentModel.to_bytes` writes it with joblib
in two layers: a header of plain Python values, then the pickled pipeline.
Loading reads the header first and refuses, with a clear message, a model
pickled by another scikit-learn version before unpickling anything of it.

Examples
--------
>>> result.model.save("will_buy.joblib")                       # doctest: +SKIP
>>> model = SegmentModel.load("will_buy.joblib")               # doctest: +SKIP
>>> scores = model.score_table(ws.catalog, as_of="2025-04-07")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segnb.errors import SegnbError
from segnb.models.features import build_features
from segnb.models.to_ibis import score_table

__all__ = ["FORMAT", "ModelVersionError", "SegmentModel"]

FORMAT = 1


class ModelVersionError(SegnbError, RuntimeError):
    """A stored model that this environment cannot load (another scikit-learn, a newer format)."""


@dataclass
class SegmentModel:
    """A fitted model behind a lookalike or AI prediction segment.

    Attributes
    ----------
    kind
        ``"lookalike"`` or ``"prediction"``.
    pipeline
        The fitted scikit-learn pipeline; its inputs are the feature columns.
    features
        The :meth:`~segnb.models.features.FeaturePlan.spec` it was trained on.
    entity
        Target object name.
    method
        ``"pu"``/``"centroid"`` (lookalike) or the model picked
        (``"logistic"``, ``"random_forest"``, ``"gradient_boosting"``).
    threshold
        Predictions: members are the audience with ``score >= threshold``.
    size
        Lookalike: members are the ``size`` best-scored non-seed entities.
    trained_as_of
        Date of the training features.
    evaluation
        Held-out metrics (see :func:`segnb.models.estimators.evaluate`).
    settings
        Arguments of the training call (tendency, windows, random_state, …).
    prior
        Sampling rates ``(positive, negative)`` of the training sample when
        they differ: scores are then corrected to the audience's class ratio,
        ``p * rn / (p * rn + (1 - p) * rp)`` (a monotone map of the
        pipeline's probability, applied in the engine and in :meth:`predict_proba`).
    """

    kind: str
    pipeline: Any
    features: dict[str, Any]
    entity: str
    method: str
    threshold: float | None = None
    size: int | None = None
    trained_as_of: datetime.date | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    prior: tuple[float, float] | None = None
    sklearn_version: str = ""
    segnb_version: str = ""

    def __post_init__(self) -> None:
        if not self.sklearn_version:
            import sklearn

            self.sklearn_version = sklearn.__version__
        if not self.segnb_version:
            from importlib.metadata import PackageNotFoundError, version

            try:
                self.segnb_version = version("segnb")
            except PackageNotFoundError:
                self.segnb_version = "unknown"

    def __repr__(self) -> str:
        cut = f" threshold={self.threshold:.4f}" if self.threshold is not None else ""
        size = f" size={self.size}" if self.size is not None else ""
        return (
            f"<SegmentModel {self.kind} {self.entity} method={self.method}{cut}{size} "
            f"features={len(self.feature_names)} trained_as_of={self.trained_as_of}>"
        )

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.features.get("features", [])]

    # -- scoring ------------------------------------------------------------------

    def plan(self, catalog, *, as_of: Any, tz: str | None = "UTC", ids=None):
        """The feature plan of this model's columns at ``as_of``."""
        return build_features(
            catalog, self.entity, as_of=as_of, tz=tz, features=self.features, ids=ids
        )

    def predict_proba(self, X):
        """The pipeline's probabilities, corrected by :attr:`prior` (two columns, like scikit-learn)."""
        import numpy as np

        p = self.pipeline.predict_proba(X)[:, 1]
        if self.prior is not None:
            rp, rn = self.prior
            p = p * rn / (p * rn + (1.0 - p) * rp)
        return np.column_stack([1.0 - p, p])

    def score_table(self, catalog, *, as_of: Any, tz: str | None = "UTC", ids=None):
        """Ibis table ``(id, score)`` for every entity (or those in ``ids``), computed in the engine."""
        plan = self.plan(catalog, as_of=as_of, tz=tz, ids=ids)
        scores = score_table(self.pipeline, plan.table, plan.id, plan.names)
        if self.prior is None:
            return scores
        rp, rn = (float(r) for r in self.prior)
        p = scores.score
        return scores.select(plan.id, score=(p * rn / (p * rn + (1.0 - p) * rp)).cast("float64"))

    # -- storage ----------------------------------------------------------------------

    def header(self) -> dict[str, Any]:
        """Everything but the pipeline, as plain values."""
        return {
            "format": FORMAT,
            "kind": self.kind,
            "entity": self.entity,
            "method": self.method,
            "threshold": self.threshold,
            "size": self.size,
            "trained_as_of": self.trained_as_of.isoformat() if self.trained_as_of else None,
            "features": self.features,
            "evaluation": self.evaluation,
            "settings": self.settings,
            "prior": list(self.prior) if self.prior is not None else None,
            "sklearn_version": self.sklearn_version,
            "segnb_version": self.segnb_version,
        }

    def to_bytes(self) -> bytes:
        """The model as bytes (joblib): a plain header, then the pickled pipeline."""
        import joblib

        inner = io.BytesIO()
        joblib.dump(self.pipeline, inner, compress=3)
        outer = io.BytesIO()
        joblib.dump({"header": self.header(), "pipeline": inner.getvalue()}, outer)
        return outer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "the stored model") -> SegmentModel:
        """Load :meth:`to_bytes` output; another scikit-learn version is a :class:`ModelVersionError`."""
        import joblib
        import sklearn

        try:
            outer = joblib.load(io.BytesIO(data))
            header, payload = outer["header"], outer["pipeline"]
        except Exception as exc:
            raise ModelVersionError(f"{source} is not a segnb model file: {exc}") from exc
        if header.get("format") != FORMAT:
            raise ModelVersionError(
                f"{source} has format {header.get('format')!r}; this segnb reads format {FORMAT}: "
                "upgrade segnb or retrain the model (refresh with retrain=True)"
            )
        trained = header.get("sklearn_version")
        if trained != sklearn.__version__:
            raise ModelVersionError(
                f"{source} was trained with scikit-learn {trained}, but this environment has "
                f"scikit-learn {sklearn.__version__}; models do not load across versions. "
                f"Retrain it (refresh with retrain=True) or install scikit-learn=={trained}"
            )
        pipeline = joblib.load(io.BytesIO(payload))
        day = header.get("trained_as_of")
        return cls(
            kind=header["kind"],
            pipeline=pipeline,
            features=header["features"],
            entity=header["entity"],
            method=header["method"],
            threshold=header.get("threshold"),
            size=header.get("size"),
            trained_as_of=datetime.date.fromisoformat(day) if day else None,
            evaluation=header.get("evaluation", {}),
            settings=header.get("settings", {}),
            prior=tuple(header["prior"]) if header.get("prior") else None,
            sklearn_version=trained,
            segnb_version=header.get("segnb_version", ""),
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to a file (see :meth:`to_bytes`); returns the path."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(self.to_bytes())
        os.replace(tmp, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike) -> SegmentModel:
        """Read a model written by :meth:`save`."""
        target = Path(path)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise ModelVersionError(f"model file {str(target)!r} does not exist") from None
        return cls.from_bytes(data, source=f"model file {str(target)!r}")
