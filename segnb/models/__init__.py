"""Lookalike and AI prediction models over catalog features (scikit-learn inside).

Importing :mod:`segnb` does not import this package; importing this package
does not import scikit-learn until a model is trained, scored or loaded.

- :mod:`segnb.models.features`: the feature table of a target object as of a date
- :mod:`segnb.models.estimators`: PU lookalike, centroid baseline, propensity training
- :mod:`segnb.models.evaluation`: thresholds by tendency, held-out metrics, lift, importances
- :mod:`segnb.models.to_ibis`: fitted pipelines compiled to Ibis expressions
- :mod:`segnb.models.saved`: a trained model, stored with joblib, re-scored at any date
- :mod:`segnb.models.api`: what ``Workspace.lookalike`` and ``Workspace.predict`` call
- :mod:`segnb.models.forecast`: forecast or look-alike mode, the training date and label window
- :mod:`segnb.models.backtest`: a forecast trained one horizon earlier, checked on what happened
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Dates",
    "Feature",
    "FeaturePlan",
    "LookalikeResult",
    "ModelVersionError",
    "PredictionResult",
    "SegmentModel",
    "build_features",
    "label_columns",
    "lookalike",
    "parse_horizon",
    "predict",
    "rescore",
    "resolve_dates",
    "run_backtest",
]

_WHERE = {
    "Feature": "features",
    "FeaturePlan": "features",
    "build_features": "features",
    "label_columns": "features",
    "LookalikeResult": "api",
    "PredictionResult": "api",
    "lookalike": "api",
    "predict": "api",
    "rescore": "api",
    "Dates": "forecast",
    "parse_horizon": "forecast",
    "resolve_dates": "forecast",
    "run_backtest": "backtest",
    "SegmentModel": "saved",
    "ModelVersionError": "saved",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'segnb.models' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"segnb.models.{module}"), name)
