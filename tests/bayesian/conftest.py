"""Shared fits of the seed's math model (computed once per test session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from designs import build_math_design  # noqa: E402

from multilevel.bayesian import fit_bayes  # noqa: E402


@pytest.fixture(scope="session")
def math_dsn():
    return build_math_design()


@pytest.fixture(scope="session")
def math_fit(math_dsn):
    """``bayes, rseed(317): mixed math homework i.schtype || schid: homework, cov(un)``."""
    return fit_bayes(math_dsn, rseed=317, progress=False)


@pytest.fixture(scope="session")
def math_fit3(math_dsn):
    """The seed's 3-chain run: rseed(317) burnin(5000) mcmcsize(15000) nchains(3)."""
    return fit_bayes(math_dsn, rseed=317, nchains=3, burnin=5000, mcmcsize=15000, progress=False)
