"""Short constructors for expected specs in the parser tests."""

from __future__ import annotations

from dataclasses import replace

from multilevel.spec import Factor, ModelSpec, RandomLevel, Term


def cont(name: str) -> Factor:
    return Factor(name, "continuous")


def cat(name: str, base: tuple | None = None) -> Factor:
    return Factor(name, "categorical", base)


def auto(name: str) -> Factor:
    return Factor(name, "auto")


def term(*factors: Factor) -> Term:
    return Term(tuple(factors))


def level(*groups: str, terms=(), constant=True, cov="identity", crossed=None) -> RandomLevel:
    return RandomLevel(tuple(groups), tuple(terms), constant, cov, crossed)


def without_source(spec: ModelSpec) -> ModelSpec:
    return replace(spec, source="")
