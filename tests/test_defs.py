"""Segments as code: ``ws.defs.export`` / ``ws.defs.apply`` and ``segnb defs``, on every backend."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import tomllib
from store_tools import AS_OF

import segnb
from segnb import cli
from segnb.errors import DefinitionFileError
from segnb.segments.graph import Graph

pytest_plugins = ("store_helpers",)

BUYERS = "count(purchase, T-6..T) >= 1  # bought in the last week\nand is_member"
VIP = 'member_level = "gold"  # the gold tier'


def make_segments(ws):
    ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF, group="Q4", refresh="daily",
                      description='7 days, "members"', scenario="delivery")  # fmt: skip
    ws.create_segment("vip", rules=VIP, as_of=AS_OF)
    ws.combine("vip_buyers", "vip & buyers", as_of=AS_OF)
    ws.create_segment("vip_or_buyers", rules="in_segment(vip) or in_segment(buyers)", as_of=AS_OF)


def snapshot(ws) -> dict:
    out = {}
    for seg in ws.segments():
        d = seg.to_dict()
        out[d["name"]] = (d["method"], d["text"], d["group"], d["description"], d["refresh"],
                          d["scenario"], d["entity"], seg.size)  # fmt: skip
    return out


def versions(ws) -> dict:
    return {s.name: s.version for s in ws.segments()}


def delete_all(ws):
    names = [s.name for s in ws.segments()]
    for name in reversed(Graph.of(ws.ctx).order(names)):
        ws.segment(name).delete()


def test_round_trip_idempotent_and_one_edit(store_ws, tmp_path):
    ws = store_ws
    make_segments(ws)
    before = snapshot(ws)
    paths = ws.defs.export(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{n}.toml" for n in before)
    text = (tmp_path / "buyers.toml").read_text()
    assert "# bought in the last week" in text and "rule = '''" in text
    doc = tomllib.loads(text)
    assert doc["rule"].strip() == BUYERS and doc["group"] == "Q4" and doc["method"] == "rules"
    assert doc["description"] == '7 days, "members"'
    assert tomllib.loads((tmp_path / "vip_buyers.toml").read_text())["expression"] == "vip & buyers"
    # nothing differs: the plan is all unchanged and writes nothing
    plan = ws.defs.apply(tmp_path)
    assert {s.action for s in plan} == {"unchanged"} and versions(ws) == {n: 1 for n in before}
    delete_all(ws)
    assert ws.segments() == []
    dry = ws.defs.apply(tmp_path, dry_run=True)
    assert {s.name: s.action for s in dry} == {n: "create" for n in before}
    assert ws.segments() == []  # a dry run writes nothing
    order = [s.name for s in dry]
    assert order.index("vip_buyers") > max(order.index("vip"), order.index("buyers"))
    assert order.index("vip_or_buyers") > max(order.index("vip"), order.index("buyers"))
    sizes = {s.name: s.size for s in dry}
    assert (
        sizes["buyers"] == ws.estimate(BUYERS) and sizes["vip_buyers"] is None
    )  # inputs not yet there
    applied = ws.defs.apply(tmp_path)
    assert applied.applied and {s.action for s in applied} == {"create"}
    after = snapshot(ws)
    assert {n: v[:7] for n, v in after.items()} == {n: v[:7] for n, v in before.items()}
    # sizes: the same rules as of the same day give the same sizes
    for name in before:
        seg = ws.segment(name)
        seg.refresh(as_of=AS_OF)
    assert snapshot(ws) == before
    again = versions(ws)
    assert {s.action for s in ws.defs.apply(tmp_path)} == {"unchanged"}
    assert versions(ws) == again  # applying twice writes nothing
    edited = text.replace("and is_member", "and not is_member")
    (tmp_path / "buyers.toml").write_text(edited)
    dry = ws.defs.apply(tmp_path, dry_run=True)
    step = next(s for s in dry if s.name == "buyers")
    assert step.action == "redefine" and step.size == ws.estimate(
        BUYERS.replace("and is_member", "and not is_member")
    )
    assert step.size_change == step.size - step.current
    assert sum(s.action == "redefine" for s in dry) == 1
    ws.defs.apply(tmp_path)
    now = versions(ws)
    assert now == {**again, "buyers": again["buyers"] + 1}  # exactly one new version
    assert "not is_member" in ws.segment("buyers").text
    assert len(ws.segment("buyers").history()) == again["buyers"] + 1  # history kept


def test_bad_files_are_named_and_nothing_is_applied(store_ws, tmp_path):
    ws = store_ws
    (tmp_path / "good.toml").write_text('name = "good"\nmethod = "rules"\nrule = "is_member"\n')
    (tmp_path / "broken.toml").write_text('name = "broken"\nmethod = "rules"\nrule = "is_member\n')
    (tmp_path / "typo.toml").write_text(
        "name = \"typo\"\nmethod = \"rules\"\nrule = '''\nis_member\nand cty = \"x\"\n'''\n"
    )
    (tmp_path / "key.toml").write_text('name = "key"\nmethod = "rules"\nrul = "is_member"\n')
    with pytest.raises(DefinitionFileError) as info:
        ws.defs.apply(tmp_path)
    problems = info.value.problems
    assert len(problems) == 3 and "nothing was applied" in str(info.value)
    assert any(p.startswith(f"{tmp_path / 'broken.toml'}:3:") for p in problems)
    assert any(p.startswith(f"{tmp_path / 'typo.toml'}:5:5") and "cty" in p for p in problems)
    assert any(p.startswith(f"{tmp_path / 'key.toml'}:3:1") and "'rul'" in p for p in problems)
    assert ws.segments() == []  # the good file was not applied either


def test_prune_is_guarded_by_the_dependency_graph(store_ws, tmp_path):
    ws = store_ws
    make_segments(ws)
    ws.defs.export(tmp_path)
    (tmp_path / "vip.toml").unlink()
    with pytest.raises(DefinitionFileError, match="'vip' is used by 'vip_buyers', 'vip_or_buyers'"):
        ws.defs.apply(tmp_path, prune=True)
    assert len(ws.segments()) == 4
    for name in ("vip_buyers", "vip_or_buyers"):
        (tmp_path / f"{name}.toml").unlink()
    plan = ws.defs.apply(tmp_path, prune=True, dry_run=True)
    deletes = [s.name for s in plan if s.action == "delete"]
    assert set(deletes) == {"vip", "vip_buyers", "vip_or_buyers"}
    assert deletes.index("vip") == 2  # its users go first
    assert len(ws.segments()) == 4
    ws.defs.apply(tmp_path, prune=True)
    assert [s.name for s in ws.segments()] == ["buyers"]
    assert not any(s.action == "delete" for s in ws.defs.apply(tmp_path))  # without --prune: kept


def test_uploads_record_checksum_and_say_they_are_not_reproducible(store_ws, tmp_path):
    ws = store_ws
    ids = tmp_path / "ids.csv"
    ids.write_text("user_id\n1\n2\n3\n999999999\n")
    ws.upload("listed", ids, "user_id")
    out = tmp_path / "defs"
    ws.defs.export(out)
    text = (out / "listed.toml").read_text()
    doc = tomllib.loads(text)
    assert doc["upload"]["checksum"] == hashlib.sha256(ids.read_bytes()).hexdigest()
    assert doc["upload"]["reproducible"] is False
    assert doc["upload"]["report_matched"] == 3 and doc["upload"]["report_unmatched"] == 1
    assert "not reproducible from this file" in text
    assert [s.action for s in ws.defs.apply(out)] == ["unchanged"]
    ws.segment("listed").delete()
    ids.write_text("user_id\n4\n")  # the list file changed: its members cannot come back
    step = ws.defs.apply(out)[0]
    assert step.action == "drift" and "upload it again" in step.reason
    assert ws.segments() == []


def test_cli_export_dry_run_apply(warehouse, tmp_path, capsys):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, path)
    url = f"duckdb:///{path}"
    ws = segnb.connect(str(path))
    ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    ws.con.disconnect()
    out = tmp_path / "segments"
    assert cli.main(["defs", "export", str(out), "--url", url]) == 0
    assert "wrote 1 definition file" in capsys.readouterr().out
    rule = out / "buyers.toml"
    rule.write_text(rule.read_text().replace("and is_member", "and not is_member"))
    assert cli.main(["defs", "apply", str(out), "--dry-run", "--url", url]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("plan (nothing written): 1 redefine") and "~ redefine" in printed
    assert cli.main(["defs", "apply", str(out), "--url", url]) == 0
    assert capsys.readouterr().out.startswith("applied: 1 redefine")
    (out / "bad.toml").write_text('name = "bad"\nmethod = "rules"\nrule = "is_member and"\n')
    assert cli.main(["defs", "apply", str(out), "--url", url]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'bad.toml'}:3:" in err and "nothing was applied" in err
    ws = segnb.connect(str(path))
    assert ws.segment("buyers").version == 2 and "not is_member" in ws.segment("buyers").text
    ws.con.disconnect()
