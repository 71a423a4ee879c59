"""A stable 64-bit hash of small integers, as DuckDB SQL and as Python.

The demo's pseudo-random numbers are hashes of ``(id, day, salt, ...)``.
DuckDB's own ``hash()`` is not specified and may change between versions,
so the demo uses this mixer instead: plain integer arithmetic (products of
32-bit numbers by constants below 2**31, masks and shifts) that gives the
same bits on every DuckDB version and in Python. Each of two 32-bit lanes is
a weighted sum of the values (weights differ per lane, the seed is mixed
into each lane's offset) put through a 32-bit finaliser (two rounds of
xor-shift-multiply); the hash is the high lane shifted left by 32, or-ed
with the low lane.

Values must be whole numbers in ``[0, 2**32)``.

Examples
--------
>>> stable_hash((1, 2), seed=0) == stable_hash((1, 2), seed=0)
True
>>> stable_hash((1, 2), seed=0) != stable_hash((2, 1), seed=0)
True
>>> 0 <= stable_hash((7,), seed=-5) < 2**64
True
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MAX_ARITY", "hash_sql", "macros_sql", "stable_hash"]

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
MIX = 0x45D9F3B  # the 32-bit finaliser's multiplier
#: per lane, the weight of each value (odd, below 2**31: products stay within BIGINT)
WEIGHTS = (
    (0x7FEB352D, 0x2C1B3C6D, 0x5BD1E995, 0x1B873593, 0x6B43A9B5),
    (0x68E31DA5, 0x3C6EF373, 0x0B4B82E1, 0x2545F491, 0x4CF5AD43),
)
MAX_ARITY = len(WEIGHTS[0])


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def _offsets(seed: int) -> tuple[int, int]:
    """The two lanes' offsets: 32-bit halves of a 64-bit mix of the seed."""
    s = _splitmix64(seed & M64)
    return s >> 32, s & M32


def _mix32(x: int) -> int:
    x = ((x ^ (x >> 16)) * MIX) & M32
    x = ((x ^ (x >> 16)) * MIX) & M32
    return x ^ (x >> 16)


def stable_hash(values: Sequence[int], seed: int) -> int:
    """The hash of ``values`` under ``seed``, an integer in ``[0, 2**64)`` (the reference)."""
    if not 1 <= len(values) <= MAX_ARITY:
        raise ValueError(f"one to {MAX_ARITY} values, not {len(values)}")
    lanes = []
    for weights, offset in zip(WEIGHTS, _offsets(seed), strict=True):
        x = (
            sum((v * w) & M32 for v, w in zip(values, weights[: len(values)], strict=True)) + offset
        ) & M32
        lanes.append(_mix32(x))
    return (lanes[0] << 32) | lanes[1]


def _mix32_sql(x: str) -> str:
    for _ in range(2):
        x = f"((xor({x} >> 16, {x}) * {MIX}) & {M32})"
    return f"xor({x} >> 16, {x})"


def hash_sql(args: Sequence[str], seed: int) -> str:
    """DuckDB SQL computing :func:`stable_hash` of the SQL expressions ``args`` (a UBIGINT).

    Examples
    --------
    >>> import duckdb
    >>> sql = hash_sql(["user_id", "3"], seed=9)
    >>> duckdb.sql(f"SELECT {sql} FROM (SELECT 42 AS user_id)").fetchone()[0] == stable_hash(
    ...     (42, 3), seed=9)
    True
    """
    if not 1 <= len(args) <= MAX_ARITY:
        raise ValueError(f"one to {MAX_ARITY} values, not {len(args)}")
    lanes = []
    for weights, offset in zip(WEIGHTS, _offsets(seed), strict=True):
        terms = " + ".join(
            f"((({a})::BIGINT * {w}) & {M32})"
            for a, w in zip(args, weights[: len(args)], strict=True)
        )
        lanes.append(_mix32_sql(f"(({terms} + {offset}) & {M32})"))
    return f"(({lanes[0]})::UBIGINT << 32 | ({lanes[1]})::UBIGINT)"


def macros_sql(seed: int) -> str:
    """``CREATE TEMP MACRO _h1(a)`` … ``_h5(a, b, c, d, e)``: :func:`hash_sql` of 1 to 5 values."""
    names = "abcde"
    return "\n".join(
        f"CREATE OR REPLACE TEMP MACRO _h{n}({', '.join(names[:n])}) AS "
        f"{hash_sql(list(names[:n]), seed)};"
        for n in range(1, MAX_ARITY + 1)
    )
