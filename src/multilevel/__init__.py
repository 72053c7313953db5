"""multilevel: multilevel (mixed-effects) models, frequentist and Bayesian."""

__version__ = "0.1.0"
