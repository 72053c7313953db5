"""Graph commands: each writes a PNG, names it in the output, and refuses what it cannot draw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from multilevel.commands.errors import CommandError, UnsupportedError
from multilevel.commands.graphs import default_bandwidth, kernel_density

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def math_console(console, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    console.run("use math")
    return console


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG


def test_twoway_by_group_and_numbering(math_console, tmp_path):
    out = math_console.run("twoway (scatter math homework) (lfit math homework), by(schid)")
    assert out == "(graph saved as graph1.png)\n"
    out = math_console.run("scatter math homework if schtype == 1, title(Public)")
    assert out == "(graph saved as graph2.png)\n"
    assert _is_png(tmp_path / "graph1.png") and _is_png(tmp_path / "graph2.png")


def test_twoway_with_bars_and_own_if(math_console, tmp_path):
    math_console.run("egen tagme = tag(schid)")
    out = math_console.run("twoway kdensity math if tagme || kdensity math, legend(off)")
    assert out == "(graph saved as graph1.png)\n"
    out = math_console.run("twoway (kdensity math if tagme) (kdensity homework)")
    assert out == "(graph saved as graph2.png)\n"


def test_serrbar_kdensity_and_export(math_console, tmp_path):
    math_console.run("gen se = 1")
    assert math_console.run("serrbar math se homework in 1/20, scale(1.96) yline(50)") == (
        "(graph saved as graph1.png)\n"
    )
    assert math_console.run("kdensity math, normal") == "(graph saved as graph2.png)\n"
    out = math_console.run("graph export density.png")
    assert out == "(file density.png written in PNG format)\n"
    assert _is_png(tmp_path / "density.png")
    with pytest.raises(CommandError, match="already exists"):
        math_console.run("graph export density.png")
    math_console.run("graph export density.png, replace")


def test_graph_folder_is_configurable(console, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    console.session.graph_dir = tmp_path / "figures"
    console.run("use math")
    out = console.run("kdensity homework")
    assert out == "(graph saved as figures/graph1.png)\n"
    assert _is_png(tmp_path / "figures" / "graph1.png")


@pytest.mark.parametrize(
    "command, error, message",
    [
        ("twoway (bar math homework)", UnsupportedError, "plot type bar"),
        ("twoway (scatter math homework), bogus(1)", UnsupportedError, "option bogus"),
        ("scatter math", CommandError, "scatter needs 2 variables"),
        ("serrbar math homework", CommandError, "three variables"),
        ("kdensity math, kernel(foo)", CommandError, "kernel"),
        ("graph export x.png", CommandError, "no graph to export"),
    ],
)
def test_graph_errors(math_console, command, error, message):
    with pytest.raises(error, match=message):
        math_console.run(command)


def test_default_bandwidth_follows_stata():
    # x = 1..10: sd = 3.0276504, Stata's p25 = x[3] = 3, p75 = x[8] = 8, iqr / 1.349 = 3.7064;
    # h = 0.9 * min(sd, iqr / 1.349) / 10^(1/5)
    expected = 0.9 * np.std(np.arange(1, 11), ddof=1) / 10**0.2
    assert default_bandwidth(np.arange(1.0, 11.0)) == pytest.approx(expected, rel=1e-12)


def test_kernel_density_values():
    # all data at 0, bandwidth 1: grid -1, 0, 1 (min - h to max + h); the density at 0 is
    # Stata's Epanechnikov K(0) = .75 / sqrt(5)
    grid, density, kernel, width = kernel_density(np.array([0.0, 0.0]), {"bwidth": "1", "n": "3"})
    assert kernel == "epanechnikov" and width == 1
    assert grid.tolist() == [-1.0, 0.0, 1.0]
    assert density[1] == pytest.approx(0.75 / math.sqrt(5), rel=1e-12)
    # epan2 has support |z| < 1, all inside the grid: the density integrates to one
    values = np.array([-1.0, 0.0, 2.0])
    grid, density, _, _ = kernel_density(values, {"kernel": "epan2", "bwidth": "0.5", "n": "4001"})
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-5)
