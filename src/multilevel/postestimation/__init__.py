"""Postestimation after a linear mixed model: estat sd / icc / ic, predict, test, lrtest.

The BLUPs themselves are ``fit.random_effects()`` (module :mod:`.random_effects`).
"""

from .estat import estat_ic, estat_icc, estat_sd
from .frame import StataFrame
from .predict import predict
from .random_effects import prediction_error_covariances, random_effects_se
from .tests import LrTest, WaldTest, lrtest, wald_test

__all__ = [
    "LrTest",
    "StataFrame",
    "WaldTest",
    "estat_ic",
    "estat_icc",
    "estat_sd",
    "lrtest",
    "predict",
    "prediction_error_covariances",
    "random_effects_se",
    "wald_test",
]
