"""Generalized linear mixed models: Laplace approximation and adaptive Gauss–Hermite quadrature."""

from .fit import GlmmEstimates, fit_glmm
from .predict import icc, linear_predictor, lr_test_vs_fixed, predict, random_effects

__all__ = [
    "GlmmEstimates",
    "fit_glmm",
    "icc",
    "linear_predictor",
    "lr_test_vs_fixed",
    "predict",
    "random_effects",
]
