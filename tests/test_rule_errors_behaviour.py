"""The typical mistakes with the behaviour functions: what, where (line, column, caret), what is right."""

from __future__ import annotations

import pytest

from segnb.errors import RuleSyntaxError, RuleTypeError, UnknownNameError
from segnb.lang.parse import parse_rule

CASES = [
    # (rule, error class, message part, the text under the caret, suggestion or hint part)
    ("did(add_cart then purchase within 2, T-6..T)", RuleSyntaxError, "needs a unit", "2",
     "within 2d"),
    ("did(add_cart then purchase within 3 days, T-6..T)", RuleSyntaxError, "unknown unit",
     "days", "within 3d"),
    ("did(add_cart then, T-6..T)", RuleSyntaxError, "'then' needs the next step", "then,",
     "did(purchase, T-29..T)"),
    ("did(add_cart within 2h, T-6..T)", RuleSyntaxError, "a single step has no gap",
     "within 2h", "did(add_cart, T-6..T)"),
    ("avg(purchase.amout, T-29..T) > 5", UnknownNameError, "no field 'amout'", "amout",
     "amount"),
    ("avg(purchase.industry, T-29..T) > 5", RuleTypeError, "needs a number field", "industry",
     "amount"),
    ("avg(purchase, T-29..T) > 5", RuleSyntaxError, "expected '.' and a field", ",",
     "avg(purchase.amount"),
    ("first(purchase) > 5", RuleTypeError, "is a date but 5 is a number", "5", "T-30"),
    ("days_since(login, T-6..T) > 3", RuleSyntaxError, "takes no window", ", T-6..T",
     "days_since(login)"),
    ("active_days(login) >= 3", RuleSyntaxError, "needs a window", ")", "T-29..T"),
    ("did(login then prchase, T-6..T)", UnknownNameError, "unknown event 'prchase'", "prchase",
     "purchase"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "cls", "message", "under", "right"), CASES)
def test_mistakes_point_at_the_spot(schema_catalog, text, cls, message, under, right):
    with pytest.raises(cls) as info:
        parse_rule("\n" + text, schema_catalog)  # on line 2
    err = info.value
    shown = str(err)
    assert message in err.message
    assert "line 2, column" in shown
    start = text.index(under) if under != ")" else text.index(")")
    assert f"column {start + 1}:" in shown, shown
    caret = shown.splitlines()[2]
    assert caret.strip().startswith("^") and caret.index("^") == 2 + start, shown
    assert right in shown, shown
