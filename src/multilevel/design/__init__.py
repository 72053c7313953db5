"""design: a ModelSpec applied to a DataFrame -- the arrays every engine reads."""

from .build import build_design
from .fixed import encode_fixed
from .random import random_block_for
from .types import (
    CategoricalCoding,
    Design,
    FixedColumn,
    FixedEncoding,
    RandomBlock,
)

__all__ = [
    "CategoricalCoding",
    "Design",
    "FixedColumn",
    "FixedEncoding",
    "RandomBlock",
    "build_design",
    "encode_fixed",
    "random_block_for",
]
