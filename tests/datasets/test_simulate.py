"""Simulators: the data they draw must have the moments their truth implies.

Every tolerance is four standard errors of the statistic compared, derived from its sampling
distribution (named at each check), so a correct simulator fails with probability ~1e-4 per check
and the fixed seeds make each run identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from multilevel.datasets import simulate_crossed, simulate_mixed
from multilevel.errors import OptionError

Z = 4.0  # standard errors allowed


def _hermite_expectation(function, scale: float, points: int = 80) -> float:
    """E[function(scale * Z)] for Z ~ N(0, 1) by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    return float(np.sum(weights * function(scale * nodes)) / np.sqrt(2 * np.pi))


def _group_ols(df, group="g", x="x", y="y"):
    """Per-group least-squares intercept and slope, their (X'X)^-1, and the pooled residual SS."""
    codes = df[group].to_numpy() - 1
    xv, yv = df[x].to_numpy(), df[y].to_numpy()

    def total(values):
        return np.bincount(codes, weights=values)

    n, sx, sy = np.bincount(codes).astype(float), total(xv), total(yv)
    sxx, sxy, syy = total(xv * xv), total(xv * yv), total(yv * yv)
    det = n * sxx - sx**2
    slope = (n * sxy - sx * sy) / det
    intercept = (sy - slope * sx) / n
    inverse = np.stack([sxx / det, n / det, -sx / det], axis=1)  # (0,0), (1,1), (0,1) entries
    sse = np.sum(syy - intercept * sy - slope * sxy)
    return intercept, slope, inverse, sse


def _sample_variance_se(values: np.ndarray) -> tuple[float, float]:
    """Sample variance and its standard error from the fourth central moment (no normality)."""
    centred = values - values.mean()
    variance = float(np.mean(centred**2) * values.size / (values.size - 1))
    se = float(np.sqrt((np.mean(centred**4) - np.mean(centred**2) ** 2) / values.size))
    return variance, se


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


@pytest.fixture(scope="module")
def slope_data():
    # 2,000 groups of 100: 200,000 rows.
    return simulate_mixed(
        2000,
        100,
        fixed={"x": 2.0, "_cons": 1.0},
        random_sd={"_cons": 1.0, "x": 0.5},
        corr=-0.3,
        residual_sd=1.5,
        seed=20240,
    )


def test_truth_labels_follow_stata(slope_data):
    # Closed form: var = sd^2, cov(x,_cons) = corr * sd_x * sd_cons = -0.3 * 0.5 * 1.0.
    assert slope_data.attrs["truth"] == {
        "x": 2.0,
        "_cons": 1.0,
        "g: var(x)": 0.25,
        "g: var(_cons)": 1.0,
        "g: cov(x,_cons)": pytest.approx(-0.15, abs=1e-15),
        "var(Residual)": 2.25,
    }
    assert list(slope_data.columns) == ["y", "x", "g"]
    assert slope_data.attrs["simulation"] == {"family": "gaussian", "link": "identity"}


def test_residual_sd_matches_truth(slope_data):
    _, _, _, sse = _group_ols(slope_data)
    df_resid = len(slope_data) - 2 * 2000
    estimate = np.sqrt(sse / df_resid)
    # Pooled within-group residual SD: SE = sigma / sqrt(2 df) for normal errors.
    assert abs(estimate - 1.5) < Z * 1.5 / np.sqrt(2 * df_resid)


def test_covariates_are_standard_normal(slope_data):
    x = slope_data["x"].to_numpy()
    # Mean SE 1/sqrt(N); variance SE sqrt(2/N) for N(0, 1).
    assert abs(x.mean()) < Z / np.sqrt(x.size)
    assert abs(x.var() - 1.0) < Z * np.sqrt(2 / x.size)


def test_random_effects_covariance_matches_truth(slope_data):
    intercept, slope, inverse, _ = _group_ols(slope_data)
    truth = slope_data.attrs["truth"]
    noise = 2.25 * inverse.mean(axis=0)  # E[sigma^2 (X_j'X_j)^-1]: sampling error of each OLS fit
    n_groups = intercept.size
    # Fixed effects: group estimates average to beta, SE = sd(estimates) / sqrt(G).
    for estimates, name in ((intercept, "_cons"), (slope, "x")):
        mean, se = _mean_se(estimates)
        assert abs(mean - truth[name]) < Z * se
    # Variances: var(b_hat) = Sigma + noise; SE of a sample variance from its fourth moment.
    for estimates, name, k in ((intercept, "g: var(_cons)", 0), (slope, "g: var(x)", 1)):
        variance, se = _sample_variance_se(estimates)
        assert abs(variance - noise[k] - truth[name]) < Z * se
    # Covariance: SE of a sample covariance, sqrt((s_aa s_bb + s_ab^2) / (G - 1)).
    cov = np.cov(intercept, slope)
    se = np.sqrt((cov[0, 0] * cov[1, 1] + cov[0, 1] ** 2) / (n_groups - 1))
    assert abs(cov[0, 1] - noise[2] - truth["g: cov(x,_cons)"]) < Z * se


def test_same_seed_same_frame_other_seed_other_frame():
    args = (30, (2, 8), {"x": 1.0, "_cons": 0.5}, {"_cons": 1.0, "x": 0.3})
    first = simulate_mixed(*args, corr=0.2, seed=7)
    again = simulate_mixed(*args, corr=0.2, seed=7)
    assert first.equals(again) and first.attrs == again.attrs
    assert not first.equals(simulate_mixed(*args, corr=0.2, seed=8))
    generator = np.random.default_rng(7)
    assert simulate_mixed(*args, seed=generator).shape[1] == 3
    assert not simulate_mixed(*args, seed=generator).equals(simulate_mixed(*args, seed=7))


def test_unbalanced_group_sizes():
    df = simulate_mixed(5000, (2, 9), {"_cons": 0.0}, 1.0, seed=3)
    sizes = df.groupby("g").size()
    assert len(sizes) == 5000 and sizes.index.tolist() == list(range(1, 5001))
    assert set(sizes.unique()) == set(range(2, 10))
    # Discrete uniform on 2..9: mean 5.5, variance (8^2 - 1) / 12.
    assert abs(sizes.mean() - 5.5) < Z * np.sqrt(63 / 12 / 5000)
    assert df.attrs["truth"] == {"_cons": 0.0, "g: var(_cons)": 1.0, "var(Residual)": 1.0}


def test_zero_variances_give_the_linear_predictor():
    df = simulate_mixed(10, 5, {"x": 2.0, "_cons": 1.0}, {"_cons": 0.0}, residual_sd=0.0, seed=1)
    np.testing.assert_allclose(df["y"], 1.0 + 2.0 * df["x"], rtol=0, atol=1e-12)


def test_three_random_terms_and_correlation_matrix():
    corr = [[1.0, 0.5, -0.2], [0.5, 1.0, 0.0], [-0.2, 0.0, 1.0]]
    df = simulate_mixed(
        20,
        4,
        {"x": 1.0, "z": -1.0},
        {"_cons": 2.0, "x": 1.0, "z": 0.5},
        corr=corr,
        seed=0,
        group="school",
        response="score",
    )
    # Closed form: terms in Stata's order (x, z, _cons); cov = corr * sd * sd.
    assert df.attrs["truth"] == {
        "x": 1.0,
        "z": -1.0,
        "_cons": 0.0,
        "school: var(x)": 1.0,
        "school: var(z)": 0.25,
        "school: var(_cons)": 4.0,
        "school: cov(x,z)": 0.5 * 1.0 * 0.5,
        "school: cov(x,_cons)": -0.2 * 1.0 * 2.0,
        "school: cov(z,_cons)": 0.0,
        "var(Residual)": 1.0,
    }
    assert list(df.columns) == ["score", "x", "z", "school"]


def test_bernoulli_logit_moments():
    n_groups, size = 4000, 50
    df = simulate_mixed(n_groups, size, {"x": 1.0, "_cons": -0.5}, 0.8, family="bernoulli", seed=11)
    assert set(df["y"].unique()) == {0, 1}
    assert "var(Residual)" not in df.attrs["truth"]
    group_means = df.groupby("g")["y"].mean().to_numpy()
    # E[y] = E[expit(-0.5 + s Z)] with s^2 = 1^2 + 0.8^2 (x and u are independent normals);
    # SE from the spread of the independent group means.
    expected = _hermite_expectation(lambda e: special.expit(-0.5 + e), np.sqrt(1.64))
    mean, se = _mean_se(group_means)
    assert abs(mean - expected) < Z * se

    # Between-group variance of group means: Var_u m(u) + E[m(u)(1 - m(u))] / n, where
    # m(u) = E_x[expit(-0.5 + u + x)] is a group's success probability.
    def m(u):
        nodes, weights = np.polynomial.hermite_e.hermegauss(80)
        inner = special.expit(-0.5 + u[:, None] + nodes[None, :])
        return inner @ weights / np.sqrt(2 * np.pi)

    m1 = _hermite_expectation(m, 0.8)
    m2 = _hermite_expectation(lambda u: m(u) ** 2, 0.8)
    expected_var = (m2 - m1**2) + (m1 - m2) / size
    variance, se = _sample_variance_se(group_means)
    assert abs(variance - expected_var) < Z * se


def test_bernoulli_probit_closed_form():
    df = simulate_mixed(
        4000, 50, {"x": 0.6, "_cons": 0.4}, 0.7, family="bernoulli", link="probit", seed=5
    )
    # Closed form: P(y = 1) = Phi(0.4 / sqrt(1 + 0.6^2 + 0.7^2)).
    expected = stats.norm.cdf(0.4 / np.sqrt(1 + 0.36 + 0.49))
    mean, se = _mean_se(df.groupby("g")["y"].mean().to_numpy())
    assert abs(mean - expected) < Z * se
    assert df.attrs["simulation"] == {"family": "bernoulli", "link": "probit"}


def test_poisson_log_normal_mean():
    df = simulate_mixed(4000, 50, {"x": 0.3, "_cons": 0.5}, 0.4, family="poisson", seed=9)
    # Closed form: E[exp(0.5 + 0.3 x + u)] = exp(0.5 + (0.3^2 + 0.4^2) / 2).
    expected = np.exp(0.5 + (0.09 + 0.16) / 2)
    mean, se = _mean_se(df.groupby("g")["y"].mean().to_numpy())
    assert abs(mean - expected) < Z * se
    assert (df["y"] >= 0).all() and df["y"].dtype.kind == "i"


def test_million_rows():
    # Generation time is measured in benchmarks/; here: the large frame has the asked-for shape.
    df = simulate_mixed(
        100_000, 10, {"x": 1.0, "_cons": 0.0}, {"_cons": 1.0, "x": 0.5}, corr=0.3, seed=0
    )
    assert len(df) == 1_000_000
    assert df["g"].nunique() == 100_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_groups": 0}, "n_groups"),
        ({"group_size": (5, 2)}, "exceeds max"),
        ({"group_size": (0, 2)}, "group_size min"),
        ({"group_size": 2.5}, "group_size"),
        ({"random_sd": {"_cons": -1.0}}, "random_sd of '_cons'"),
        ({"random_sd": {}}, "no random effect"),
        ({"random_sd": {"_cons": 1.0, "w": 1.0}}, "'w' is not a covariate"),
        ({"random_sd": {"_cons": 1.0, "x": 1.0}, "slopes": ("z",)}, "must name exactly"),
        ({"random_sd": {"_cons": 1.0, "x": 1.0}, "corr": 1.5}, r"\[-1, 1\]"),
        ({"random_sd": {"_cons": 1.0, "x": 1.0}, "corr": np.eye(3)}, "2x2"),
        ({"random_sd": {"_cons": 1, "x": 1}, "corr": [[1, 0.5], [0.4, 1]]}, "symmetric"),
        ({"family": "gamma"}, "unknown family"),
        ({"family": "poisson", "link": "logit"}, "not available"),
        ({"residual_sd": -1.0}, "residual_sd"),
        ({"group": "x"}, "also the name"),
        ({"fixed": {"x": np.inf}}, "finite"),
        ({"fixed": {"_cons": 50.0}, "family": "poisson"}, "Poisson means"),
    ],
)
def test_impossible_settings_are_option_errors(kwargs, message):
    settings = {"n_groups": 5, "group_size": 3, "fixed": {"x": 1.0}, "random_sd": 1.0}
    settings.update(kwargs)
    with pytest.raises(OptionError, match=message):
        simulate_mixed(**settings)


def test_three_way_correlation_must_be_positive_semidefinite():
    sds = {"_cons": 1.0, "x": 1.0, "z": 1.0}
    with pytest.raises(OptionError, match="positive semidefinite"):
        simulate_mixed(5, 3, {"x": 0.0, "z": 0.0}, sds, corr=-0.9)
    # corr = 1 for every pair is singular but valid: all three effects move together.
    assert len(simulate_mixed(5, 3, {"x": 0.0, "z": 0.0}, sds, corr=1.0, seed=1)) == 15


@pytest.fixture(scope="module")
def crossed_data():
    # 400 x 500 fully crossed, one row per cell: 200,000 rows.
    return simulate_crossed(
        400, 500, fixed={"x": 1.0, "_cons": 3.0}, random_sd=(1.0, 0.5), residual_sd=2.0, seed=77
    )


def test_crossed_layout_and_truth(crossed_data):
    assert crossed_data.groupby(["a", "b"]).size().eq(1).all()
    assert (crossed_data["a"].nunique(), crossed_data["b"].nunique()) == (400, 500)
    assert crossed_data.attrs["truth"] == {
        "x": 1.0,
        "_cons": 3.0,
        "_all: var(R.a)": 1.0,
        "b: var(_cons)": 0.25,
        "var(Residual)": 4.0,
    }
    assert simulate_crossed(2, 3, reps=4, seed=1).groupby(["a", "b"]).size().eq(4).all()


def test_crossed_variance_components(crossed_data):
    df = crossed_data
    resid = (df["y"] - df["x"]).to_numpy()  # the x coefficient is known: 1
    a_means = df.assign(r=resid).groupby("a")["r"].mean()
    b_means = df.assign(r=resid).groupby("b")["r"].mean()
    # Balanced crossed design: var over levels of a of the a-means = sd_a^2 + sigma^2 / n_b
    # (the b effects average to the same number in every a-mean); likewise for b.
    for means, expected in ((a_means, 1.0 + 4.0 / 500), (b_means, 0.25 + 4.0 / 400)):
        variance, se = _sample_variance_se(means.to_numpy())
        assert abs(variance - expected) < Z * se
    # Additive two-way residual: SSE / (N - n_a - n_b + 1) estimates sigma^2, SE sigma^2 sqrt(2/df).
    fitted = a_means.to_numpy()[df["a"] - 1] + b_means.to_numpy()[df["b"] - 1] - resid.mean()
    dof = len(df) - 400 - 500 + 1
    sigma2 = np.sum((resid - fitted) ** 2) / dof
    assert abs(sigma2 - 4.0) < Z * 4.0 * np.sqrt(2 / dof)


def test_crossed_bernoulli_mean_and_reproducibility():
    df = simulate_crossed(
        300, 300, fixed={"_cons": 0.3}, random_sd=(0.6, 0.8), family="bernoulli", seed=4
    )
    # E[y] = E[expit(0.3 + s Z)], s^2 = 0.6^2 + 0.8^2 = 1. The a-means share the b effects, so
    # they are not independent; the SE adds the b-means' contribution.
    expected = _hermite_expectation(lambda e: special.expit(0.3 + e), 1.0)
    _, se_a = _mean_se(df.groupby("a")["y"].mean().to_numpy())
    _, se_b = _mean_se(df.groupby("b")["y"].mean().to_numpy())
    assert abs(df["y"].mean() - expected) < Z * np.hypot(se_a, se_b)
    again = simulate_crossed(
        300, 300, fixed={"_cons": 0.3}, random_sd=(0.6, 0.8), family="bernoulli", seed=4
    )
    assert df.equals(again)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_a": 0}, "n_a"),
        ({"reps": 0}, "reps"),
        ({"random_sd": (1.0,)}, "exactly two"),
        ({"random_sd": (1.0, -1.0)}, "random_sd of 'b'"),
        ({"factors": ("a", "a")}, "different names"),
        ({"factors": ("y", "b")}, "must differ"),
        ({"family": "bernoulli", "link": "log"}, "not available"),
    ],
)
def test_crossed_impossible_settings(kwargs, message):
    settings = {"n_a": 3, "n_b": 4}
    settings.update(kwargs)
    with pytest.raises(OptionError, match=message):
        simulate_crossed(**settings)
