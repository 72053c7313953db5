"""multilevel: multilevel (mixed-effects) models, frequentist and Bayesian.

>>> import multilevel as ml
>>> df = ml.datasets.load("math")
>>> fit = ml.mixed("math homework i.schtype || schid: homework, covariance(unstructured)", data=df)
"""

from . import datasets
from .api import (
    bayes,
    mecloglog,
    meglm,
    melogit,
    menbreg,
    meologit,
    meoprobit,
    mepoisson,
    meprobit,
    mixed,
)
from .io import read_data
from .postestimation import lrtest

__version__ = "0.1.0"

__all__ = [
    "mixed",
    "bayes",
    "melogit",
    "meprobit",
    "mecloglog",
    "meologit",
    "meoprobit",
    "mepoisson",
    "menbreg",
    "meglm",
    "lrtest",
    "read_data",
    "datasets",
    "__version__",
]
