"""Every ``%segment`` verb and ``%%segment`` option, driven through a real IPython shell (DuckDB)."""

from __future__ import annotations

import datetime

import pandas as pd
import pyarrow.parquet as pq
import pytest
from IPython.core.error import UsageError
from magics_tools import magics, run
from store_tools import AS_OF

from segnb.magics.results import EstimateResult, Note, SegmentResult, SQLResult, VerifyResult
from segnb.reports.charts import history_points

pytest_plugins = ("magics_helpers",)

BUYERS = "count(purchase, T-6..T) >= 1"
EARLIER = AS_OF - datetime.timedelta(days=7)


@pytest.fixture
def buyers(duck):
    """The shell with a 'buyers' segment (as of the last day of the test data)."""
    run(duck, f"%%segment buyers --group Q4 --as-of {AS_OF}\n{BUYERS}")
    return duck


def ids_of(ws, rule: str, as_of=AS_OF) -> list[int]:
    return sorted(ws.members(rule, as_of=as_of).to_pyarrow().column(0).to_pylist())


# -- %%segment options ------------------------------------------------------------------


def test_cell_options_reach_the_segment(duck):
    seg = run(
        duck,
        "%%segment vip_sz --group 'Q4 push' --refresh daily --expires 2099-12-31 "
        "--describe 'Shenzhen VIPs' --scenario delivery --tz Asia/Shanghai "
        "--email team@example.com --scope shared --share-with alice,bob --time-sensitive "
        f"--as-of {AS_OF}\n"
        'city = "Shenzhen"  # a comment\n'
        "and is_member\n",
    )
    d = seg.to_dict()
    assert d["group"] == "Q4 push" and d["refresh"] == "daily"
    assert d["expires_at"] == datetime.date(2099, 12, 31)
    assert d["description"] == "Shenzhen VIPs" and d["scenario"] == "delivery"
    assert d["timezone"] == "Asia/Shanghai" and d["email"] == "team@example.com"
    assert d["scope"] == "shared" and d["shared_with"] == ["alice", "bob"]
    assert d["time_sensitive"] is True
    assert seg.size == magics(duck).ws.estimate('city = "Shenzhen" and is_member', as_of=AS_OF)
    html = seg._repr_html_()
    assert "alice, bob" in html and "2099-12-31" in html and "time-sensitive" in html


def test_cell_entity_and_private_scope(duck):
    seg = run(
        duck,
        f"%%segment good_shops --entity merchants --scope private --as-of {AS_OF}\nrating >= 4",
    )
    assert seg.entity == "merchants" and seg.to_dict()["scope"] == "private"
    assert "merchants" in repr(seg)


def test_default_group_comes_from_settings(duck):
    run(duck, "%config SegNB.default_group = 'Growth'")
    assert run(duck, "%%segment m\nis_member").group == "Growth"


def test_dry_run_saves_nothing(duck):
    result = run(duck, f"%%segment buyers --dry-run --as-of {AS_OF}\n{BUYERS}")
    assert isinstance(result, EstimateResult)
    assert result == magics(duck).ws.estimate(BUYERS, as_of=AS_OF)
    assert "SELECT" in result.sql.upper()
    assert repr(result).endswith(f"users would be in 'buyers' (as of {AS_OF}; nothing saved)")
    assert "<details" in result._repr_html_()
    anonymous = run(duck, f"%%segment --dry-run --as-of {AS_OF}\n{BUYERS}")
    assert anonymous == result and anonymous.name is None
    assert run(duck, "%segment list") == []


def test_dry_run_of_a_set(buyers):
    run(buyers, f"%%segment members --as-of {AS_OF}\nis_member")
    size = run(buyers, "%%segment --dry-run\nbuyers - members")
    ws = magics(buyers).ws
    assert size == ws.estimate(f"{BUYERS} and not is_member", as_of=AS_OF)
    assert size == run(buyers, "%segment estimate buyers - members")


def test_replace(buyers):
    with pytest.raises(UsageError, match="already exists"):
        run(buyers, "%%segment buyers\nis_member")
    # the same rule again (a re-run or scheduled notebook) writes a new version
    again = run(buyers, f"%%segment buyers --as-of {AS_OF}\n{BUYERS}  # same rule\n")
    assert again.version == 2 and list(again.history().index) == [1, 2]
    with pytest.raises(UsageError, match="'cty' is not a tag"):
        run(buyers, "%%segment buyers --replace\ncty = 1")
    assert run(buyers, "%segment show buyers").text == BUYERS  # a bad rule deletes nothing
    seg = run(buyers, f"%%segment buyers --replace --group VIP --as-of {AS_OF}\nis_member")
    assert seg.text == "is_member" and seg.version == 3 and seg.group == "VIP"
    assert list(seg.history().index) == [1, 2, 3]  # replacing keeps the history


def test_cell_mistakes(duck):
    with pytest.raises(UsageError, match=r"^%%segment needs a NAME"):
        run(duck, "%%segment\nis_member")
    with pytest.raises(UsageError, match=r"^%%segment needs a rule in the cell body"):
        run(duck, "%%segment x --group Q4\n\n  \n")
    with pytest.raises(UsageError, match=r"--refresh 'weekly' is not one of once, daily"):
        run(duck, "%%segment x --refresh weekly\nis_member")
    with pytest.raises(UsageError, match=r"expires=2001-01-01 is in the past"):
        run(duck, "%%segment x --expires 2001-01-01\nis_member")
    with pytest.raises(UsageError, match=r"--as-of 'yesterday' is not a date"):
        run(duck, "%%segment x --as-of yesterday\nis_member")
    with pytest.raises(UsageError, match=r"time_sensitive=True needs refresh='daily'"):
        run(duck, "%%segment x --time-sensitive\nis_member")
    with pytest.raises(UsageError, match=r"unknown time zone 'Mars/Base'"):
        run(duck, "%%segment x --tz Mars/Base\nis_member")
    with pytest.raises(UsageError, match=r"^%%segment: unknown option --grup; did you mean --gro"):
        run(duck, "%%segment x --grup Q4\nis_member")
    with pytest.raises(UsageError, match=r"^%%segment: unexpected 'y'; usage: %%segment \[NAME\]"):
        run(duck, "%%segment x y\nis_member")
    with pytest.raises(UsageError, match=r"^line 2, column 11: missing condition after 'and'"):
        run(duck, "%%segment x\nis_member and and")
    assert run(duck, "%segment list") == []


# -- estimate and sql -------------------------------------------------------------------


def test_estimate_options(duck):
    ws = magics(duck).ws
    assert run(duck, f"%segment estimate --as-of {EARLIER} {BUYERS}") == ws.estimate(
        BUYERS, as_of=EARLIER
    )
    shops = run(duck, "%segment estimate --entity merchants rating >= 4")
    assert shops == ws.estimate("rating >= 4", entity="merchants") and shops.entity == "merchants"
    with pytest.raises(UsageError, match=r"needs RULE…"):
        run(duck, "%segment estimate --as-of 2025-01-01")
    with pytest.raises(UsageError, match=r"options before or after the rule"):
        run(duck, "%segment estimate is_member --as-of 2025-01-01 and is_black_list")
    with pytest.raises(UsageError, match=r"^line 1, column 1: missing condition\n  \)\n  \^"):
        run(duck, "%segment estimate )")


def test_sql_of_segments_and_rules(buyers):
    ws = magics(buyers).ws
    sql = run(buyers, "%segment sql buyers")
    assert isinstance(sql, SQLResult) and sql == ws.segment("buyers").sql
    assert repr(sql) == str(sql) and sql._repr_html_().startswith("<pre")
    rule = run(buyers, f"%segment sql --as-of {AS_OF} {BUYERS}")
    assert rule == ws.sql(BUYERS, as_of=AS_OF)
    pg = run(buyers, "%segment sql is_member --dialect postgres")
    assert pg == ws.sql("is_member", dialect="postgres")
    with pytest.raises(UsageError, match=r"--dialect 'nosuch' is not an SQL dialect"):
        run(buyers, "%segment sql is_member --dialect nosuch")
    stored = run(buyers, "%segment sql buyers --dialect postgres")
    assert stored == ws.segment("buyers").to_sql("postgres") and "MAKE_DATE" not in stored
    with pytest.raises(UsageError, match=r"^no segment named 'buyer'; did you mean 'buyers'"):
        run(buyers, "%segment sql buyer")


# -- reading a segment --------------------------------------------------------------------


def test_members_are_capped_by_displaylimit(buyers, capsys):
    ws = magics(buyers).ws
    expected = ids_of(ws, BUYERS)
    frame = run(buyers, "%segment members buyers")
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["user_id"]
    assert frame["user_id"].tolist() == expected[:10]
    assert f"showing 10 of {len(expected):,} members of 'buyers'" in capsys.readouterr().out
    assert len(run(buyers, "%segment members buyers --limit 3")) == 3
    assert "showing" not in capsys.readouterr().out
    assert run(buyers, "%segment members buyers --limit 0")["user_id"].tolist() == expected
    run(buyers, "%config SegNB.displaylimit = 4")
    assert len(run(buyers, "%segment members buyers")) == 4
    run(buyers, "%config SegNB.feedback = False")
    capsys.readouterr()
    run(buyers, "%segment members buyers")
    assert "showing" not in capsys.readouterr().out
    wide = run(buyers, "%segment members buyers --limit 5 --columns channel,is_member,device_id")
    assert list(wide.columns) == ["user_id", "channel", "is_member", "device_id"]
    users = ws.catalog.table("users").to_pandas().set_index("user_id")
    assert wide["channel"].tolist() == users.loc[wide["user_id"], "channel"].tolist()
    with pytest.raises(UsageError, match=r"users has no column 'chanel'; did you mean 'channel'"):
        run(buyers, "%segment members buyers --columns chanel")
    with pytest.raises(UsageError, match=r"--limit 'ten' is not a whole number"):
        run(buyers, "%segment members buyers --limit ten")


def test_history_refresh_and_sparkline(buyers, capsys):
    ws = magics(buyers).ws
    seg = run(buyers, f"%segment refresh buyers --as-of {EARLIER}")
    assert isinstance(seg, SegmentResult) and seg.version == 2
    assert seg.size == ws.estimate(BUYERS, as_of=EARLIER)
    run(buyers, "%segment refresh buyers --as-of 2025-03-01")
    history = run(buyers, "%segment history buyers")
    assert history.index.tolist() == [1, 2, 3]
    assert history["as_of"].tolist() == [AS_OF, EARLIER, datetime.date(2025, 3, 1)]
    card = run(buyers, "%segment show buyers")._repr_html_()
    points = history_points(ws.segment("buyers"))  # what the report's history chart plots
    assert [d for d, _ in points] == sorted(history["as_of"])  # by date, not by version
    first, last = points[0][0], points[-1][0]
    assert f"size history: 3 points from {first} to {last}" in card
    assert "var(--jp-" in card and "#666" not in card.replace("var(--jp-ui-font-color2, #666)", "")
    capsys.readouterr()
    newest = run(buyers, "%segment history buyers --limit 2")
    assert newest.index.tolist() == [2, 3]
    assert "showing" not in capsys.readouterr().out  # asked for: no note
    run(buyers, "%config SegNB.displaylimit = 2")
    assert run(buyers, "%segment history buyers").index.tolist() == [2, 3]
    assert "showing 2 of 3 versions of 'buyers' (the newest)" in capsys.readouterr().out


def test_verify(buyers):
    ws = magics(buyers).ws
    member, *_ = ids_of(ws, BUYERS)
    outsider = min(set(range(1, 3001)) - set(ids_of(ws, BUYERS)))
    yes = run(buyers, f"%segment verify buyers {member}")
    assert isinstance(yes, VerifyResult) and yes and yes.since_version == 1
    assert "&#10004;" in yes._repr_html_()
    no = run(buyers, f"%segment verify buyers {outsider}")
    assert not no and no.known and "&#10008;" in no._repr_html_()
    with pytest.raises(UsageError, match=r"'abc' is not a users id"):
        run(buyers, "%segment verify buyers abc")
    with pytest.raises(UsageError, match=r"needs ID"):
        run(buyers, "%segment verify buyers")


def test_export(buyers, tmp_path):
    ws = magics(buyers).ws
    note = run(buyers, f"%segment export buyers {tmp_path / 'b.parquet'}")
    assert isinstance(note, Note) and note.path == tmp_path / "b.parquet"
    assert repr(note) == f"exported {note.size:,} users of 'buyers' to {tmp_path / 'b.parquet'}"
    assert pq.read_table(note.path).column("user_id").to_pylist() == ids_of(ws, BUYERS)
    out = tmp_path / "b.csv"
    run(buyers, f"%segment export buyers '{out}' --columns device_id")
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["user_id", "device_id"] and len(frame) == note.size
    with pytest.raises(UsageError, match=r"name the file .csv or .parquet"):
        run(buyers, f"%segment export buyers {tmp_path / 'b.xlsx'}")


def test_extend_and_delete(buyers):
    seg = run(buyers, "%segment extend buyers 2099-01-31")
    assert seg.expires_at == datetime.date(2099, 1, 31)
    assert run(buyers, "%segment extend buyers never").expires_at is None
    with pytest.raises(UsageError, match=r"is in the past"):
        run(buyers, "%segment extend buyers 2001-01-01")
    note = run(buyers, "%segment delete buyers")
    assert repr(note) == "deleted segment 'buyers' (the deleted-records log keeps it)"
    assert run(buyers, "%segment list") == []
    with pytest.raises(UsageError, match=r"^no segment named 'buyers'"):
        run(buyers, "%segment show buyers")


def test_delete_refused_while_used(buyers):
    run(buyers, f"%%segment members --as-of {AS_OF}\nis_member")
    run(buyers, f"%%segment both --as-of {AS_OF}\nbuyers & members")
    with pytest.raises(UsageError, match=r"is used by 'both'"):
        run(buyers, "%segment delete buyers")


def test_groups(buyers):
    run(buyers, "%%segment m\nis_member")
    frame = run(buyers, "%segment groups")
    counts = dict(zip(frame["name"], frame["segments"], strict=True))
    assert counts["Q4"] == 1 and counts["Default Group"] == 1


# -- other creation methods -----------------------------------------------------------------


def test_upload(duck, tmp_path):
    ws = magics(duck).ws
    devices = ws.catalog.table("users").order_by("user_id").limit(5).to_pandas()["device_id"]
    path = tmp_path / "ids.csv"
    path.write_text("device_id\n" + "\n".join([*devices, "nobody-1", devices[0]]) + "\n")
    seg = run(duck, f"%segment upload crm {path} --id-type device_id --group CRM --as-of {AS_OF}")
    assert isinstance(seg, SegmentResult) and seg.method == "upload" and seg.size == 5
    assert seg.group == "CRM" and seg.report["matched"] == 5 and seg.report["unmatched"] == 1
    assert "5 matched, 1 unmatched" in seg._repr_html_()
    with pytest.raises(UsageError, match=r"id_type='phone' is not an id column of users"):
        run(duck, f"%segment upload crm2 {path} --id-type phone")


def test_from_table(duck):
    seg = run(duck, f"%segment from-table everyone users --id-column user_id --as-of {AS_OF}")
    assert seg.method == "table" and seg.size == 3000
    refunders = run(
        duck,
        "%segment from-table refunders --id-column user_id --query "
        "\"SELECT user_id FROM events WHERE event = 'refund'\"",
    )
    ws = magics(duck).ws
    expected = ws.con.sql("SELECT DISTINCT user_id FROM events WHERE event = 'refund'").count()
    assert refunders.size == expected.execute() > 0
    with pytest.raises(UsageError, match=r"needs --id-column COLUMN"):
        run(duck, "%segment from-table x users")
    with pytest.raises(UsageError, match=r"needs a TABLE or --query SQL"):
        run(duck, "%segment from-table x users --id-column user_id --query 'SELECT 1'")
    with pytest.raises(UsageError, match=r"has no column 'uid'"):
        run(duck, "%segment from-table x users --id-column uid")


def test_lookalike_calls_the_workspace(buyers, monkeypatch):
    ws = magics(buyers).ws
    calls = []

    def lookalike(name, **kw):
        calls.append((name, kw))
        return ws.segment("buyers")

    monkeypatch.setattr(ws, "lookalike", lookalike)
    result = run(buyers, f"%segment lookalike lal --seed buyers --size 100 --as-of {AS_OF}")
    assert isinstance(result, SegmentResult)
    ((name, kw),) = calls
    assert name == "lal" and kw["seed"] == "buyers" and kw["size"] == 100
    assert str(kw["as_of"]) == str(AS_OF)


def test_predict(buyers):
    run(buyers, f"%segment from-table everyone users --id-column user_id --as-of {AS_OF}")
    seg = run(
        buyers,
        f"%segment predict will_buy --audience everyone --positive buyers --model logistic "
        f"--tendency high_precision --as-of {AS_OF}",
    )
    assert isinstance(seg, SegmentResult) and seg.method == "prediction"
    e = seg.evaluation()
    assert e["tendency"] == "high_precision" and e["model"] == "logistic"
    assert seg.size == int((seg.scores().to_pandas()["score"] >= e["threshold"]).sum())
    with pytest.raises(UsageError, match=r"the audience has [\d,]+ entities; at least 1,000"):
        run(buyers, "%segment predict p --audience buyers --positive buyers")
    with pytest.raises(UsageError, match=r"no segment named 'byers'; did you mean 'buyers'"):
        run(buyers, "%segment lookalike lal --seed byers --size 10")


def test_model_options_are_checked(buyers):
    with pytest.raises(UsageError, match=r"--tendency 'high' is not one of high_recall"):
        run(buyers, "%segment predict p --audience buyers --positive buyers --tendency high")
    with pytest.raises(UsageError, match=r"--size must be at least 1"):
        run(buyers, "%segment lookalike lal --seed buyers --size 0")


def test_insights(buyers):
    frame = run(buyers, "%segment insights buyers")
    expected = magics(buyers).ws.segment("buyers").insights()
    assert frame.equals(expected) and {"city", "trade_cnt_7d"} <= set(frame["field"])
    assert run(buyers, "%segment insights buyers --limit 3").equals(expected.head(3))


# -- the line's grammar -----------------------------------------------------------------------


def test_line_mistakes(buyers):
    cases = {
        "%segment": r"^%segment needs a verb: one of estimate, sql, list",
        "%segment lst": r"has no verb 'lst'; did you mean %segment list\?",
        "%segment list --group": r"--group needs a value: --group GROUP",
        "%segment list --group a --group b": r"--group is given twice",
        "%segment list --status nope": r"--status 'nope' is not one of generating, active",
        "%segment list --group=Q4 extra": r"unexpected 'extra'",
        "%segment show": r"%segment show needs NAME: %segment show NAME",
        "%segment show buyers --limit 3": r"unknown option --limit",
        "%segment members buyers --limit=-1": r"--limit must be at least 0",
        "%segment show 'buyers": r"unclosed quote",
    }
    for line, pattern in cases.items():
        with pytest.raises(UsageError, match=pattern):
            run(buyers, line)
    assert [s.name for s in run(buyers, "%segment list --group=Q4 --search=buy")] == ["buyers"]


def test_not_connected(ip):
    with pytest.raises(UsageError, match=r"^not connected: run %segnb connect"):
        run(ip, "%segment list")


def test_help(duck, capsys):
    assert run(duck, "%segment help") is None
    out = capsys.readouterr().out
    assert "estimate" in out and "lookalike" in out and "%%segment NAME [options]" in out
    run(duck, "%segment list --help")
    out = capsys.readouterr().out
    assert out.startswith("%segment list [--group GROUP]") and "only this status" in out
    run(duck, "%segment help members")
    assert "--limit N" in capsys.readouterr().out
    run(duck, "%%segment --help\nignored")
    out = capsys.readouterr().out
    assert out.startswith("%%segment [NAME]") and "--dry-run" in out
    run(duck, "%segment --help")
    assert "%segment VERB" in capsys.readouterr().out
    with pytest.raises(UsageError, match=r"has no verb 'lst'"):
        run(duck, "%segment help lst")


def test_changes_counts_samples_and_export(buyers, tmp_path):
    ws = magics(buyers).ws
    run(buyers, f"%segment refresh buyers --as-of {EARLIER}")
    first, second = (set(ids_of(ws, BUYERS, as_of=d)) for d in (AS_OF, EARLIER))
    result = run(buyers, "%segment changes buyers --limit 3")
    ch = result.changes
    assert (ch.since, ch.version) == (1, 2)
    assert (ch.entered_count, ch.left_count) == (len(second - first), len(first - second))
    assert result.left["user_id"].tolist() == sorted(first - second)[:3]
    assert f"{ch.left_count:,} left" in repr(result) and "left" in result._repr_html_()
    since = run(buyers, f"%segment changes buyers --since {AS_OF}")
    assert since.changes.since == 1
    with pytest.raises(UsageError, match="no version 7"):
        run(buyers, "%segment changes buyers --since 7")
    note = run(buyers, f"%segment export buyers {tmp_path / 'left.parquet'} --changes left")
    assert isinstance(note, Note) and note.size == len(first - second) and "left" in str(note)
    assert sorted(pq.read_table(note.path).column(0).to_pylist()) == sorted(first - second)
    with pytest.raises(UsageError, match="--since goes with --changes"):
        run(buyers, f"%segment export buyers {tmp_path / 'x.csv'} --since 1")
