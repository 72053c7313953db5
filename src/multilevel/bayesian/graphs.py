"""``bayesgraph diagnostics``: trace, autocorrelation, histogram and density of parameters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .diagnostics import autocorrelation

if TYPE_CHECKING:
    from .result import BayesResult

MAX_LAG = 40


def _names(res: BayesResult, params) -> list[str]:
    if params in (("_all",), ("all",), ()):
        return list(res.param_names)
    return [p.strip().strip("{}").replace(" ", "") for p in params]


def diagnostics_figure(draws: np.ndarray, name: str):
    """One parameter's 2x2 panel; ``draws`` is (chains, draws)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    fig, axes = plt.subplots(2, 2, figsize=(8, 6))
    (trace, acf), (hist, dens) = axes
    steps = np.arange(1, draws.shape[1] + 1)
    for c, chain in enumerate(draws):
        trace.plot(steps, chain, lw=0.4, label=f"chain {c + 1}" if len(draws) > 1 else None)
        lags = min(MAX_LAG, len(chain) - 1)
        acf.plot(np.arange(lags + 1), autocorrelation(chain)[: lags + 1], marker=".", lw=0.8)
    trace.set(title="Trace", xlabel="Iteration number")
    acf.axhline(0, color="grey", lw=0.5)
    acf.set(title="Autocorrelation", xlabel="Lag", ylim=(-1, 1))
    pooled = draws.ravel()
    hist.hist(pooled, bins=40, density=True, color="0.6", edgecolor="white")
    hist.set(title="Histogram")
    grid = np.linspace(pooled.min(), pooled.max(), 200)
    if np.ptp(pooled) > 0:
        half = draws.shape[1] // 2
        dens.plot(grid, gaussian_kde(pooled)(grid), label="overall")
        dens.plot(grid, gaussian_kde(draws[:, :half].ravel())(grid), "--", label="1-half")
        dens.plot(grid, gaussian_kde(draws[:, half:].ravel())(grid), ":", label="2-half")
        dens.legend(fontsize=7)
    dens.set(title="Density")
    fig.suptitle("{" + name + "}")
    fig.tight_layout()
    return fig


def diagnostics_figures(res: BayesResult, params, path: str | Path | None = None) -> list:
    """Figures of each parameter (all with ``"_all"``); saved as PNG files when ``path`` given.

    One parameter is saved at ``path``; several at ``<path stem>_<parameter>.png``.
    """
    names = _names(res, params)
    figures = []
    for name in names:
        fig = diagnostics_figure(np.asarray(res.param(name)), name)
        figures.append(fig)
        if path is not None:
            target = Path(path).with_suffix(".png")
            if len(names) > 1:
                slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
                target = target.with_name(f"{target.stem}_{slug}.png")
            fig.savefig(target, dpi=100)
    return figures
