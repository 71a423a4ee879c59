"""How a compiled estimator is written: as Ibis expressions, or as portable SQL text.

:func:`segnb.models.to_ibis.compile_proba` builds a score with one of these
two builders; both offer the same small set of operations (literals, CASE with
one or several WHEN branches, comparisons, arithmetic, EXP, SQRT, GREATEST,
LEAST, NULLIF).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis

__all__ = ["IbisOps", "TextOps"]


class IbisOps:
    """Builds the final estimator's score as an Ibis value expression."""

    #: write a tree's chains of right children as the WHEN branches of one CASE (see
    #: ``to_ibis._splits``) rather than one nested CASE per split
    chains = True

    def __init__(self, table, names: Sequence[str], nullable: Sequence[bool]) -> None:
        self.table, self.names, self.nullable = table, list(names), list(nullable)

    def __len__(self) -> int:
        return len(self.names)

    def x(self, j: int):
        return self.table[self.names[j]]

    def f32(self, j: int):
        return self.table[f"{self.names[j]}_f32"]

    def lit(self, value: float):
        # a bare 0.1 is NUMERIC in PostgreSQL and DECIMAL in DuckDB (read a rounding step
        # off); a cast from text is a correctly rounded double in both, folded at plan time
        return ibis.literal(repr(float(value))).cast("float64")

    def case(self, cond, then, other):
        return ibis.cases((cond, then), else_=other)

    def cases(self, branches: Sequence[tuple], other):
        """``CASE WHEN c1 THEN v1 WHEN c2 THEN v2 … ELSE other END``: the first true ``c`` wins."""
        return ibis.cases(*branches, else_=other)

    def le(self, a, b):
        return a <= b

    def gt(self, a, b):
        return a > b

    def or_(self, a, b):
        return a | b

    def isnull(self, a):
        return a.isnull()

    def add(self, a, b):
        return a + b

    def mul(self, a, b):
        return a * b

    def div(self, a, b):
        return a / b

    def neg(self, a):
        return -a

    def exp(self, a):
        return a.exp()

    def sqrt(self, a):
        return a.sqrt()

    def greatest(self, a, b):
        return ibis.greatest(a, b)

    def least(self, a, b):
        return ibis.least(a, b)

    def nullif0(self, a):
        return a.nullif(0.0)


class TextOps(IbisOps):
    """Builds the same expression as SQL text: milliseconds where Ibis takes seconds.

    Large tree ensembles have thousands of nodes; Ibis validates each one and
    recompiles the whole tree on every execution, the text is built once.
    Only portable SQL is written: quoted identifiers, ``CAST('…' AS DOUBLE)``,
    CASE, arithmetic, EXP, SQRT, GREATEST, LEAST, NULLIF.
    """

    def __init__(self, names: Sequence[str], nullable: Sequence[bool], dialect: str) -> None:
        import sqlglot

        self.names, self.nullable = list(names), list(nullable)
        self.dialect = dialect
        # DuckDB runs a 60-tree forest 1.2-1.5x faster as chains; PostgreSQL, which evaluates
        # one row at a time, takes 10-25% more CPU for them than for nested CASEs (measured)
        self.chains = dialect != "postgres"
        self.double = sqlglot.exp.DataType.build("double").sql(dialect=dialect)
        self.quote = lambda n: sqlglot.exp.to_identifier(n, quoted=True).sql(dialect=dialect)
        self._x = [self.quote(n) for n in self.names]
        self._f = [self.quote(f"{n}_f32") for n in self.names]

    def x(self, j: int):
        return self._x[j]

    def f32(self, j: int):
        return self._f[j]

    def lit(self, value: float):
        return f"CAST('{float(value)!r}' AS {self.double})"

    def case(self, cond, then, other):
        return f"CASE WHEN {cond} THEN {then} ELSE {other} END"

    def cases(self, branches: Sequence[tuple], other):
        whens = " ".join(f"WHEN {cond} THEN {then}" for cond, then in branches)
        return f"CASE {whens} ELSE {other} END"

    def le(self, a, b):
        return f"{a} <= {b}"

    def gt(self, a, b):
        return f"{a} > {b}"

    def or_(self, a, b):
        return f"({a} OR {b})"

    def isnull(self, a):
        return f"{a} IS NULL"

    def add(self, a, b):
        return f"({a} + {b})"

    def mul(self, a, b):
        return f"({a} * {b})"

    def div(self, a, b):
        return f"({a} / {b})"

    def neg(self, a):
        return f"(-{a})"

    def exp(self, a):
        return f"EXP({a})"

    def sqrt(self, a):
        return f"SQRT({a})"

    def greatest(self, a, b):
        return f"GREATEST({a}, {b})"

    def least(self, a, b):
        return f"LEAST({a}, {b})"

    def nullif0(self, a):
        return f"NULLIF({a}, {self.lit(0.0)})"
