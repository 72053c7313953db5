"""Parameter-expanded move of one random level (generalized Gibbs in Metropolis form).

Centred Gibbs mixes slowly when each group's data determine its effects weakly: the effects ``u``
and their covariance ``Sigma`` then move only together, and alternating full conditionals take
small steps (the funnel of a variance near zero). After the usual sweep, the move below rescales
a whole level at once (Liu & Wu 1999; Liu & Sabatti 2000; Gelman, van Dyk, Huang & Boscardin
2008):

    u_g -> D u_g  (every group g),    Sigma -> D Sigma D,

with ``D = diag(d)`` invertible: one free scale per effect (``d = a``) for the unstructured and
independent structures, one common scale (``d = a 1``) for the identity and exchangeable ones,
so that the structure is kept (the exchangeable correlation does not change). Coefficients, the
residual variance and the other levels stay fixed. An unstructured level also gets shears
(:func:`shear_level`, ``u_gi -> u_gi + t u_gj``), which change the correlations: scalings keep
them, and they mix slowly when the covariance matrix is near singular. (One Metropolis step over
a full matrix ``A`` in GL(q) is valid too, but accepted only about a quarter of its proposals on
the sleepstudy model; the diagonal scaling accepts about 85% and the shears are exact draws.)

Why it leaves the posterior invariant
-------------------------------------
Let x be the state, ``T_D x`` the transformed state, ``J_D(x)`` the Jacobian of x -> T_D x and
``H(dD) = prod_m |a_m|^-1 da_m`` the Haar measure of the (abelian, hence unimodular) group of
free scales ``a``. Propose ``D ~ Q_x`` (a density w.r.t. ``H``) and accept ``T_D x`` with
probability min(1, R),

    R = pi(T_D x) J_D(x) Q_{T_D x}(D^-1) / (pi(x) Q_x(D)).

The map (x, D) -> (T_D x, D^-1) is an involution whose Jacobian w.r.t. ``dx H(dD)`` is
``J_D(x)`` (Haar measure is inversion invariant), so R is the Metropolis-Hastings ratio of that
involution: detailed balance holds and ``pi`` is invariant (Liu & Sabatti 2000, section 3).

Factors of pi(T_D x) / pi(x): the likelihood ratio ``L_x(D) / L_x(I)`` with
``L_x(D) = p(y | beta, D u, other levels, s2)``; the effects' density
``prod_g N(D u_g | 0, D Sigma D) = |det D|^-G prod_g N(u_g | 0, Sigma)``, which cancels the
effects' part ``|det D|^G`` of ``J_D``; the prior ratio ``p(D Sigma D) / p(Sigma)``. The
covariance part of ``J_D`` is ``|det D|^(q+1)`` for an unstructured matrix (entry jk scales by
``d_j d_k``), ``prod_j a_j^2`` for independent variances, ``a^2`` for the one variance of the
identity and exchangeable structures.

Proposal: the residual ``r = y - X beta - (other levels)`` is linear in ``a``, so
``log L_x(D) = const + b'a - a'Ma/2``. ``Q_x`` is a normal density ``g_x`` in ``a`` (w.r.t.
Lebesgue measure, i.e. ``Q_x = g_x prod |a_m|`` w.r.t. ``H``) whose precision is ``M`` plus the
negative part of the diagonal second derivatives at ``a = 1`` of
``log h(a) = log p(D Sigma D) + log J_D^Sigma - sum_m log|a_m|`` (the target's other factor in
``a``; its gradient there shifts the mean), so that it follows the prior when the data say
little about the scale. It depends on the state only, so ``Q_{T_D x}`` is computed in the same
way from ``(D u, D Sigma D)``; then

    log R = [log L_x(D) - log L_x(I)] + log p(D Sigma D) - log p(Sigma) + log J_D^Sigma
            - 2 sum_m log|a_m| + log g_{T_D x}(1 / a) - log g_x(a).

(With the likelihood alone as proposal everything likelihood-related would cancel and
``R = h(a) / h(1)``.) Stata's ``bayes: mixed`` has no such step; its acceptance is therefore not
counted in the reported acceptance rate (see :func:`multilevel.bayesian.sampler.run_chain`).
"""

from __future__ import annotations

import math

import numpy as np

from .distributions import Distribution
from .gaussian import GaussianData
from .gibbs import State


def level_cross_products(state: State, data: GaussianData, k: int) -> tuple:
    """(Z_g'Z_g (G, q, q), Z_g'r_g (G, q)) of level ``k`` with r = y - X beta - other levels."""
    if data.single:
        return data.ZtZ, data.Zty - data.ZtX @ state.beta
    lev = data.levels[k]
    G, q = lev.n_groups, lev.q
    start, stop = data.offsets[k], data.offsets[k + 1]
    theta = np.concatenate([state.beta] + [uk.ravel() for uk in state.u])
    rows = data.WtW[start:stop]
    block = rows[:, start:stop]
    idx = np.arange(G)
    ZtZ = block.reshape(G, q, G, q)[idx, :, idx, :]
    # Z_k'r = Z_k'y - W_k'W theta + Z_k'Z_k u_k: the level's own effects added back
    ztr = data.Wty[start:stop] - rows @ theta + block @ theta[start:stop]
    return ZtZ, ztr.reshape(G, q)


def _log_likelihood_terms(u, ZtZ, ztr, s2: float, scalar: bool) -> tuple:
    """(M, b) of log L(a) = const + b'a - a'Ma/2, as Python lists."""
    M = np.einsum("gjk,gj,gk->jk", ZtZ, u, u) / s2
    b = np.einsum("gj,gj->j", u, ztr) / s2
    if scalar:
        return [[float(M.sum())]], [float(b.sum())]
    return M.tolist(), b.tolist()


# --- the prior's part ------------------------------------------------------------------------
# The move's arithmetic is on q numbers (q effects of one level): plain floats are much quicker
# than numpy calls at that size, and the move runs once per level and iteration.
def _iw_weights(sigma: np.ndarray, prior: dict, names: list, kind: str) -> tuple | None:
    """(df, Psi o Sigma^-1 as lists) of an inverse-Wishart-form matrix prior, else ``None``."""
    if kind != "matrix":
        return None
    form = prior[names[0]].iw_form(len(sigma))
    if form is None:
        return None
    return form[0], (form[1] * np.linalg.inv(sigma)).tolist()


def _scaled_weights(iw: tuple | None, d: list) -> tuple | None:
    """``_iw_weights`` at D Sigma D, whose inverse is D^-1 Sigma^-1 D^-1."""
    if iw is None:
        return None
    df, C = iw
    return df, [
        [c / (dj * dk) for c, dk in zip(row, d, strict=True)] for row, dj in zip(C, d, strict=True)
    ]


def _log_prior_ratio(sigma, d: list, prior: dict, names: list, kind: str, iw) -> float:
    """log p(D Sigma D) - log p(Sigma) for the level's prior(s)."""
    if kind == "matrix":
        if iw is not None:  # |S|^-(df+q+1)/2 exp(-tr(Psi S^-1)/2) at S = D Sigma D
            df, C = iw
            change = sum(
                c * (1.0 / (dj * dk) - 1.0)
                for row, dj in zip(C, d, strict=True)
                for c, dk in zip(row, d, strict=True)
            )
            log_det = sum(math.log(abs(dj)) for dj in d)
            return -(df + len(d) + 1) * log_det - 0.5 * change
        dist = prior[names[0]]
        return float(dist.logpdf(sigma * np.outer(d, d))) - float(dist.logpdf(sigma))
    if kind == "scalar":
        s = float(sigma[0, 0])
        return _variance_log_ratio(prior[names[0]], s, d[0] ** 2 * s)
    return sum(
        _variance_log_ratio(prior[names[j]], float(sigma[j, j]), dj**2 * float(sigma[j, j]))
        for j, dj in enumerate(d)
    )


def _variance_log_ratio(dist: Distribution, old: float, new: float) -> float:
    form = dist.ig_form()
    if form is not None:  # x^-(shape+1) exp(-scale/x): the normalising constant cancels
        shape, scale = form
        return -(shape + 1) * math.log(new / old) - scale * (1 / new - 1 / old)
    return float(dist.logpdf(new)) - float(dist.logpdf(old))


def prior_curvature(variances: list, prior: dict, names: list, kind: str, iw=None) -> tuple:
    """Gradient and Hessian diagonal of ``log h(a)`` at ``a = 1`` (see the module's docstring).

    ``log h(a) = log p(D Sigma D) + log J_D^Sigma - sum_m log|a_m|``: for an unstructured
    matrix ``log p(D Sigma D) + q log|det D|``; for each variance ``log p(a^2 s) + log|a|``.
    Conjugate forms only (inverse Wishart, inverse gamma and their flat and Jeffreys limits);
    any other prior contributes zeros, and the proposal then rests on the likelihood alone.
    ``variances`` is the diagonal of ``Sigma``, ``iw`` :func:`_iw_weights` of ``Sigma``.
    Returns two lists.
    """
    q = len(variances)
    if kind == "matrix":
        if iw is None:
            return [0.0] * q, [0.0] * q
        df, C = iw
        # log h = c - (df + 1) sum log d_j - sum_jk C_jk / (2 d_j d_k), C = Psi o Sigma^-1
        rows = [sum(row) for row in C]
        grad = [r - (df + 1) for r in rows]
        hess = [-C[m][m] - 2 * rows[m] + (df + 1) for m in range(q)]
        return grad, hess
    slots = [0] if kind == "scalar" else list(range(q))
    grad, hess = [0.0] * len(slots), [0.0] * len(slots)
    for m, j in enumerate(slots):
        form = prior[names[j]].ig_form()
        if form is not None:  # log h = c - (2 shape + 1) log|a| - scale / (s a^2)
            shape, ig_scale = form
            ratio = ig_scale / variances[j]
            grad[m] = -(2 * shape + 1) + 2 * ratio
            hess[m] = (2 * shape + 1) - 6 * ratio
    return grad, hess


# --- the normal proposal ---------------------------------------------------------------------
def _cholesky(P: list) -> list | None:
    """Lower Cholesky factor of a small symmetric matrix, ``None`` unless positive definite."""
    n = len(P)
    L = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = P[i][j] - sum(L[i][k] * L[j][k] for k in range(j))
            if i == j:
                if not s > 0:
                    return None
                L[i][i] = math.sqrt(s)
            else:
                L[i][j] = s / L[j][j]
    return L


def _solve_lower(L: list, v: list) -> list:
    x = []
    for i, row in enumerate(L):
        x.append((v[i] - sum(row[k] * x[k] for k in range(i))) / row[i])
    return x


def _solve_upper(L: list, v: list) -> list:
    """Solve L' x = v."""
    n = len(L)
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (v[i] - sum(L[k][i] * x[k] for k in range(i + 1, n))) / L[i][i]
    return x


def _proposal(M: list, b: list, grad: list, hess: list) -> tuple | None:
    """Mean and precision's Cholesky factor of the normal proposal, ``None`` if not proper.

    The precision is ``M`` plus the negative part of ``log h``'s diagonal second derivatives
    (curvature that would widen the proposal is dropped); the mean maximises
    ``log L(a) + grad'(a - 1) - (a - 1)' diag(curv) (a - 1) / 2``.
    """
    curv = [max(-h, 0.0) for h in hess]
    precision = [row[:] for row in M]
    for m, c in enumerate(curv):
        precision[m][m] += c
    L = _cholesky(precision)
    if L is None:
        return None
    rhs = [bm + gm + cm for bm, gm, cm in zip(b, grad, curv, strict=True)]
    return _solve_upper(L, _solve_lower(L, rhs)), L


def _log_normal(x: list, mean: list, L: list) -> float:
    """log N(x | mean, (L L')^-1) up to the constant -(dim/2) log(2 pi)."""
    n = len(L)
    diff = [xi - mi for xi, mi in zip(x, mean, strict=True)]
    z = [sum(L[k][i] * diff[k] for k in range(i, n)) for i in range(n)]
    return sum(math.log(L[i][i]) for i in range(n)) - 0.5 * sum(zi * zi for zi in z)


def _prior_kind(structure: str, q: int) -> str:
    if structure == "unstructured" and q > 1:
        return "matrix"
    if structure == "independent" or q == 1:
        return "variances"
    return "scalar"  # identity, exchangeable: one variance, one common scale


# --- the move --------------------------------------------------------------------------------
def expand_level(
    state: State,
    data: GaussianData,
    k: int,
    structure: str,
    prior: dict,
    names: list,
    rng: np.random.Generator,
) -> tuple[State, bool | None]:
    """One parameter-expanded move of level ``k``: (u_g, Sigma) -> (D u_g, D Sigma D).

    Parameters
    ----------
    state
        The current point of the chain.
    data
        The model's cross-products.
    k
        The level (design order).
    structure
        The level's covariance structure (``unstructured``, ``independent``, ``identity``,
        ``exchangeable``).
    prior, names
        The level's priors and their keys, as :func:`multilevel.bayesian.gibbs.draw_level`
        reads them.
    rng
        Random-number generator.

    Returns
    -------
    tuple
        The new state and whether the proposal was accepted (``None`` when no proposal could
        be made: effects and prior that do not determine the scales).
    """
    u, sigma, s2 = state.u[k], state.sigma[k], state.sigma2
    q = u.shape[1]
    kind = _prior_kind(structure, q)
    M, b = _log_likelihood_terms(u, *level_cross_products(state, data, k), s2, kind == "scalar")
    iw = _iw_weights(sigma, prior, names, kind)
    variances = sigma.diagonal().tolist()
    forward = _proposal(M, b, *prior_curvature(variances, prior, names, kind, iw))
    if forward is None:
        return state, None
    mean, L = forward
    step = _solve_upper(L, rng.standard_normal(len(mean)).tolist())
    a = [m + s for m, s in zip(mean, step, strict=True)]
    if not all(a):  # probability zero: no group element
        return state, False
    d = a * q if kind == "scalar" else a
    # at the new state log L'(c) = log L(c o a): its terms follow from M and b
    M_new = [
        [m * ai * aj for m, aj in zip(row, a, strict=True)] for row, ai in zip(M, a, strict=True)
    ]
    b_new = [bm * am for bm, am in zip(b, a, strict=True)]
    new_iw = _scaled_weights(iw, d)
    new_variances = [v * dj * dj for v, dj in zip(variances, d, strict=True)]
    backward = _proposal(M_new, b_new, *prior_curvature(new_variances, prior, names, kind, new_iw))
    if backward is None:
        return state, False
    quad = sum(
        m * (ai * aj - 1.0)
        for row, ai in zip(M, a, strict=True)
        for m, aj in zip(row, a, strict=True)
    )
    log_lik_change = sum(bm * (am - 1.0) for bm, am in zip(b, a, strict=True)) - 0.5 * quad
    log_ratio = log_lik_change + _log_prior_ratio(sigma, d, prior, names, kind, iw)
    # covariance Jacobian over the Haar weights: |det D|^(q+1) / |det D|^2 when unstructured
    if kind == "matrix":
        log_ratio += (q - 1) * sum(math.log(abs(am)) for am in a)
    log_ratio += _log_normal([1.0 / am for am in a], *backward) - _log_normal(a, mean, L)
    if not math.isfinite(log_ratio) or math.log(rng.uniform()) >= log_ratio:
        return state, False
    scales = np.array(d)
    us = state.u[:k] + (u * scales,) + state.u[k + 1 :]
    sigmas = state.sigma[:k] + (sigma * np.outer(scales, scales),) + state.sigma[k + 1 :]
    # rss = -2 s2 log L + const: the likelihood change gives the new rss without a pass
    rss = max(state.rss - 2.0 * s2 * log_lik_change, 0.0)
    return State(state.beta, us, sigmas, s2, rss), True


# --- shears of an unstructured level ---------------------------------------------------------
def shear_level(
    state: State,
    data: GaussianData,
    k: int,
    prior: dict,
    names: list,
    pair: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[State, bool | None]:
    """A shear of an unstructured level: u_gi -> u_gi + t u_gj, Sigma -> A Sigma A'.

    ``A = I + t e_i e_j'`` (i != j) runs over an additive group (Haar measure dt, inverse -t)
    with ``det A = 1``: the effects' density and every Jacobian are unchanged, so the target
    density of t is ``L_x(t) p(A Sigma A')``. ``log L_x(t) - log L_x(0) = b t - M t^2 / 2`` and,
    for an inverse-Wishart-form prior, ``log p(A Sigma A') - log p(Sigma) =
    t (Psi P)_ji - t^2 P_ii Psi_jj / 2`` (P = Sigma^-1; the determinant does not change), so
    t is drawn exactly from its normal full conditional (generalized Gibbs, Liu & Sabatti
    2000). Under any other prior t is proposed from the likelihood alone, ``N(b/M, 1/M)``;
    the proposal at the new state is the same normal shifted by -t, and the Metropolis-
    Hastings ratio reduces to ``p(A Sigma A') / p(Sigma)``. Unlike the scaling move, shears
    change the correlations, which mix slowly when a covariance matrix is near singular.
    """
    i, j = pair
    u, sigma, s2 = state.u[k], state.sigma[k], state.sigma2
    ZtZ, ztr = level_cross_products(state, data, k)
    uj = u[:, j]
    M = float(uj @ (uj * ZtZ[:, i, i])) / s2
    b = float(uj @ (ztr[:, i] - np.einsum("gk,gk->g", ZtZ[:, i, :], u))) / s2
    if not M > 0:
        return state, None
    dist = prior[names[0]]
    form = dist.iw_form(len(sigma))
    shear = np.eye(len(sigma))
    if form is not None:
        prec_sigma = np.linalg.inv(sigma)
        precision = M + prec_sigma[i, i] * form[1][j, j]
        shift = b + float(form[1][j] @ prec_sigma[:, i])
        t = shift / precision + rng.standard_normal() / math.sqrt(precision)
        shear[i, j] = t
        accepted = None
    else:
        t = b / M + rng.standard_normal() / math.sqrt(M)
        shear[i, j] = t
        new = shear @ sigma @ shear.T
        log_ratio = float(dist.logpdf(new)) - float(dist.logpdf(sigma))
        accepted = math.isfinite(log_ratio) and math.log(rng.uniform()) < log_ratio
        if not accepted:
            return state, False
    new_u = u.copy()
    new_u[:, i] += t * uj
    new_sigma = shear @ sigma @ shear.T
    new_sigma = 0.5 * (new_sigma + new_sigma.T)
    rss = max(state.rss - 2.0 * s2 * (b * t - 0.5 * M * t * t), 0.0)
    us = state.u[:k] + (new_u,) + state.u[k + 1 :]
    sigmas = state.sigma[:k] + (new_sigma,) + state.sigma[k + 1 :]
    return State(state.beta, us, sigmas, s2, rss), accepted
