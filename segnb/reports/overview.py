"""The overview report: every visible segment, its size, status, freshness and expiry.

Examples
--------
>>> overview = OverviewReport.open(url="duckdb:///warehouse.duckdb")     # doctest: +SKIP
>>> overview.frame[["name", "status", "size", "days_left"]]              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
from typing import Any

from segnb.html import esc, number
from segnb.reports.charts import PALETTE, sizes_chart
from segnb.reports.page import (
    H2,
    Section,
    badge,
    html_table,
    open_workspace,
    run_badge,
    when,
)

__all__ = ["OverviewReport"]


class OverviewReport:
    """All visible segments: sizes, status, freshness, expiry; recent runs and failures."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frame = self._frame()

    @classmethod
    def open(
        cls, url: str | None = None, catalog: str | None = None, schema: str | None = None
    ) -> OverviewReport:
        return cls(open_workspace(url, catalog, schema))

    def _frame(self):
        import pandas as pd

        rows = []
        today = dt.date.today()
        for seg in self.ws.segments():
            d = seg.to_dict()
            expires = d["expires_at"]
            rows.append(
                {
                    "name": d["name"], "group": d["group"], "status": d["status"],
                    "method": d["method"], "entity": d["entity"], "size": d["size"],
                    "as_of": d["as_of"], "refreshed_at": d["refreshed_at"],
                    "refresh": d["refresh"], "due": d["due"], "expires_at": expires,
                    "days_left": None if expires is None else (expires - today).days,
                    "owner": d["owner"], "error": d["error"],
                }
            )  # fmt: skip
        columns = ["name", "group", "status", "method", "entity", "size", "as_of",
                   "refreshed_at", "refresh", "due", "expires_at", "days_left", "owner", "error"]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def header(self) -> Section:
        f = self.frame
        counts = f["status"].value_counts().to_dict() if len(f) else {}
        due = int(f["due"].astype(bool).sum())
        import pandas as pd

        left = pd.to_numeric(f["days_left"])
        soon = int(((left >= 0) & (left <= 7)).sum())
        parts = [f"{len(f)} segments"] + [f"{n} {s}" for s, n in sorted(counts.items())]
        parts += [f"{due} due for a refresh", f"{soon} expiring within 7 days"]
        body = (
            '<h1 class="segnb-title" style="font-size:24px;margin:4px 0">Segments overview</h1>'
            f'<p style="margin:0;color:{PALETTE["muted"]}">{esc(" · ".join(parts))}</p>'
        )
        return Section("header", body, {"counts": counts, "due": due, "expiring": soon})

    def sizes(self) -> Section:
        f = self.frame.sort_values("size", ascending=False, na_position="last")
        chart = sizes_chart([(r.name, r.size, r.status) for r in f.itertuples()], include_js=True)
        return Section("sizes", f'<h2 style="{H2}">Sizes</h2>{chart}', {})

    def table(self) -> Section:
        rows = []
        for r in self.frame.itertuples():
            expires = "never" if r.expires_at is None else str(r.expires_at)
            if r.days_left is not None and not math.isnan(r.days_left) and 0 <= r.days_left <= 7:
                expires = (
                    f'<b style="color:{PALETTE["low"]}">{esc(expires)} ({int(r.days_left)}d)</b>'
                )
            else:
                expires = esc(expires)
            rows.append(
                [
                    f"<b>{esc(r.name)}</b>", esc(r.group), badge(r.status), esc(r.method),
                    number(r.size), esc(r.as_of), esc(r.refresh) + (" · due" if r.due else ""),
                    expires, esc(r.owner),
                ]
            )  # fmt: skip
        body = f'<h2 style="{H2}">Segments</h2>' + html_table(
            ["name", "group", "status", "method", "size", "as of", "refresh", "expires", "owner"],
            rows,
            "segnb-table segnb-overview-table",
        )
        return Section("table", body, {"segments": self.frame})

    def runs(self, limit: int = 10) -> Section:
        """The latest notebook runs and failed segment refreshes."""
        store = self.ws.store
        notebooks = store.select("notebook_runs", order="id DESC")[:limit]
        failed = [r for r in store.select("runs", order="id DESC") if r["status"] == "failed"][
            :limit
        ]
        parts = [f'<h2 style="{H2}">Recent runs</h2>']
        if notebooks:
            parts.append(
                html_table(
                    ["notebook", "as of", "started", "status", "error"],
                    [
                        [
                            esc(os.path.basename(r["notebook"] or "")),
                            esc(r["as_of"]),
                            esc(when(r["started_at"])),
                            run_badge(r["status"]),
                            esc((r["error"] or "")[:120]),
                        ]
                        for r in notebooks
                    ],
                )
            )
        else:
            parts.append(f'<p style="color:{PALETTE["muted"]}">No notebook runs yet.</p>')
        if failed:
            parts.append('<h3 style="font-size:15px;margin:12px 0 4px 0">Failed refreshes</h3>')
            parts.append(
                html_table(
                    ["segment", "as of", "when", "error"],
                    [
                        [
                            esc(r["segment"]),
                            esc(r["as_of"]),
                            esc(when(r["started_at"])),
                            esc((r["error"] or "")[:120]),
                        ]
                        for r in failed
                    ],
                )
            )
        return Section("runs", "".join(parts), {"notebook_runs": notebooks, "failed": failed})

    def sections(self) -> list[Section]:
        return [self.header(), self.sizes(), self.table(), self.runs()]

    def close(self) -> None:
        """Let go of the warehouse (a DuckDB file open in a report kernel blocks its writers)."""
        with contextlib.suppress(Exception):
            self.ws.con.disconnect()
