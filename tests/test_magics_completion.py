"""Tab completion of verbs, options, segment, tag, event, attribute and value names.

Driven through the shell's own completer, as Jupyter asks it
(``ip.Completer.completions``), and through the older ``ip.complete``.
"""

from __future__ import annotations

import pytest
from IPython.core.completer import provisionalcompleter
from magics_tools import run
from store_tools import AS_OF

from segnb.magics import SegnbCompleter

pytest_plugins = ("magics_helpers",)


def offered(ip, code: str, cursor: int | None = None):
    """The completions the shell offers at ``cursor`` (default: the end)."""
    cursor = len(code) if cursor is None else cursor
    with provisionalcompleter():
        return list(ip.Completer.completions(code, cursor))


def complete(ip, code: str, cursor: int | None = None) -> dict[str, str]:
    """``{text: type}`` of what segnb's matcher offers; when it offers something, nothing
    else is offered."""
    found = offered(ip, code, cursor)
    ours = {c.text: c.type for c in found if c._origin == SegnbCompleter.matcher_identifier}
    if ours:
        assert len(ours) == len(found), "segnb's completions should silence the others"
    return ours


@pytest.fixture
def shell(duck):
    run(duck, f"%%segment buyers --group 'Q4 push' --as-of {AS_OF}\ncount(purchase, T-6..T) >= 1")
    run(duck, f"%%segment big_spenders --as-of {AS_OF}\nsum(purchase.amount, T-29..T) > 500")
    return duck


def test_verbs_and_options(shell):
    assert complete(shell, "%segment sh") == {"show": "verb"}
    assert complete(shell, "%segnb con") == {"connect": "verb"}
    assert complete(shell, "%segnb wizard lo") == {"lookalike": "app"}
    assert complete(shell, "%segment list --gr") == {"--group": "option"}
    assert set(complete(shell, "%%segment x --re")) == {"--refresh", "--replace"}
    assert complete(shell, "%segment list --status a") == {"active": "choice"}
    assert set(complete(shell, "%%segment x --refresh ")) == {"once", "daily"}
    assert set(complete(shell, "%segment predict p --tendency ")) == {
        "high_recall",
        "high_precision",
    }
    assert complete(shell, "%segment help mem") == {"members": "verb"}
    assert complete(shell, "%segment upload crm ids.csv --id-type dev") == {"device_id": "id"}
    assert complete(shell, "%segment members buyers --columns ch") == {"channel": "attribute"}


def test_segment_and_group_names(shell):
    assert complete(shell, "%segment show ") == {"buyers": "segment", "big_spenders": "segment"}
    assert complete(shell, "%segment members b") == {"buyers": "segment", "big_spenders": "segment"}
    assert complete(shell, "%segment history bu") == {"buyers": "segment"}
    assert complete(shell, "seg = %segment show bi") == {"big_spenders": "segment"}
    assert complete(shell, "%segment lookalike new --seed bu") == {"buyers": "segment"}
    groups = complete(shell, "%segment list --group ")
    assert groups == {'"Q4 push"': "group", '"Default Group"': "group"}
    assert complete(shell, "%segment list --group 'Q4") == {"Q4 push": "group"}
    assert complete(shell, "%segment show buyers ") == {}  # nothing more to say


def test_rule_names_in_a_cell(shell):
    def body(text: str) -> dict[str, str]:
        return complete(shell, "%%segment new --group Q4\n" + text)

    assert body("ci") == {"city": "tag"}
    assert body("is_") == {"is_black_list": "tag", "is_member": "attribute"}
    assert body("count(pur") == {"purchase": "event"}
    assert set(body("did(")) == {
        "login",
        "search",
        "view_product",
        "add_cart",
        "purchase",
        "refund",
    }
    assert body("sum(purchase.am") == {"amount": "field"}
    assert body("count(purchase where ind") == {"industry": "field"}
    assert body("in_segment(b") == {"buyers": "segment", "big_spenders": "segment"}
    assert body("change(trade") == {"trade_cnt_7d": "tag"}
    assert body("buyers & big") == {"big_spenders": "segment"}
    assert body("count(purchase, T-6..T) >= 2\nand not is_bl") == {"is_black_list": "tag"}
    assert body("city = 'x' an") == {"and": "keyword"}
    assert "count(" in body("c")
    # the behaviour functions and sequences
    assert body("first(pur") == {"purchase": "event"}
    assert body("days_since(lo") == {"login": "event"}
    assert body("avg(purchase.am") == {"amount": "field"}
    assert body("distinct(purchase.ind") == {"industry": "field"}
    assert body("did(view_product then add") == {"add_cart": "event"}
    assert body("did(view_product then purchase where ind") == {"industry": "field"}
    assert body("did(add_cart then purchase wi") == {"within": "keyword"}
    assert "active_days(" in body("act")


def test_enum_values_in_strings(shell):
    def body(text: str) -> dict[str, str]:
        return complete(shell, "%%segment new\n" + text)

    shen = body('city = "Shen')
    assert set(shen) == {"Shenzhen", "Shenyang"} and set(shen.values()) == {"value"}
    assert "Guangzhou" in body("city in ('Shenzhen', 'Gu")
    assert set(body('channel = "')) == {"ads", "organic", "social", "referral", "email"}
    assert body('trade_cnt_7d = "') == {}  # not an enum


def test_line_rules(shell):
    assert complete(shell, "%segment estimate count(pur") == {"purchase": "event"}
    assert complete(shell, f"%segment estimate --as-of {AS_OF} is_m") == {"is_member": "attribute"}
    assert complete(shell, "%segment sql bu") == {"buyers": "segment"}


def test_cursor_in_the_middle(shell):
    code = "%%segment new\ncount(pur, T-6..T) >= 1\nand city = 'x'"
    assert complete(shell, code, code.index("pur") + 3) == {"purchase": "event"}


def test_legacy_complete_api(shell):
    assert shell.complete("", "%segment show bu", 16) == ("bu", ["buyers"])


def test_silent_elsewhere(shell):
    shell.user_ns["my_variable"] = 1
    assert complete(shell, "my_va") == {}
    assert "my_variable" in {c.text for c in offered(shell, "my_va")}  # IPython's own still works


def test_without_connection(ip):
    assert complete(ip, "%segment sh") == {"show": "verb"}
    assert complete(ip, "%segment show ") == {}
    assert complete(ip, "%%segment x\nci") == {}
