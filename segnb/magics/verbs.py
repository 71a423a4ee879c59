"""The grammar of ``%segnb``, ``%segment`` and ``%%segment``: verbs, arguments, options.

Pure data: the parser (:mod:`segnb.magics.command`), the help text and tab
completion (:mod:`segnb.magics.completion`) all read these tables, so an
option added here is parsed, documented and completed at once.
"""

from __future__ import annotations

from functools import partial

from IPython.core.error import UsageError

from segnb.hints import closest
from segnb.magics.command import Arg, Opt, Verb, to_date, to_int, to_list
from segnb.segments import options
from segnb.segments.options import SCOPES

#: what ``%segnb wizard APP`` opens: the app classes of segnb.widgets
WIZARDS = {
    "rules": "SegmentWizard",
    "sets": "SetWizard",
    "upload": "UploadWizard",
    "lookalike": "LookalikeWizard",
    "predict": "PredictWizard",
}


def to_app(text: str, what: str) -> str:
    """One of :data:`WIZARDS`, with "did you mean" otherwise."""
    if text in WIZARDS:
        return text
    guess = closest(text, WIZARDS)
    hint = f"; did you mean {guess!r}?" if guess else ""
    raise UsageError(f"%segnb wizard has no app {text!r}{hint} (apps: {', '.join(WIZARDS)})")


__all__ = ["CELL_VERB", "CREATE_OPTIONS", "SEGMENT_VERBS", "SEGNB_VERBS", "STATUSES"]

STATUSES = ("generating", "active", "failed", "expired")
METHODS = ("rules", "sets", "upload", "table", "lookalike", "prediction")
SCENARIOS = tuple(options.SCENARIOS)
TENDENCIES = ("high_recall", "high_precision")
MODELS = ("auto", "logistic", "random_forest", "gradient_boosting")

AS_OF = Opt(
    "as-of", "the date T of the run, YYYY-MM-DD (default today)", "DATE", "date", convert=to_date
)
ENTITY = Opt("entity", "target object (default: the first in the catalog)", "ENTITY", "entity")
LIMIT = Opt(
    "limit", "rows to return (default SegNB.displaylimit; 0: all)", "N", "number", convert=to_int
)
COLUMNS = Opt(
    "columns", "entity attributes to add, comma-separated", "A,B", "attribute", convert=to_list
)

SINCE = Opt(
    "since",
    "a version number or a date YYYY-MM-DD (default: the version before)",
    "V|DATE",
    "text",
)

CREATE_OPTIONS: tuple[Opt, ...] = (
    Opt("group", "group of the segment (default SegNB.default_group)", "GROUP", "group"),
    Opt("refresh", "update frequency", "FREQ", "choice", ("once", "daily")),
    Opt("expires", "last valid day, YYYY-MM-DD", "DATE", "date"),
    ENTITY,
    Opt("describe", "description", "TEXT", dest="description"),
    Opt("scenario", "usage scenario", "SCENARIO", "choice", SCENARIOS),
    Opt("tz", "time zone of T and event windows (IANA name)", "TZ", "timezone"),
    Opt("email", "address notified of failed refreshes", "ADDRESS"),
    Opt("scope", "who sees the segment", "SCOPE", "choice", SCOPES),
    Opt(
        "share-with",
        "users a shared segment is shared with, comma-separated",
        "USERS",
        convert=to_list,
        dest="shared_with",
    ),
    Opt("time-sensitive", "daily segments only: refuse to serve a stale version", None),
    AS_OF,
)

CELL_VERB = Verb(
    "",
    "Create the segment NAME from the rule in the cell body (a set-only body such as "
    "'vip & active - churned' makes a segment-sets segment). With --dry-run nothing is "
    "saved: the size and SQL are shown (NAME may then be left out).",
    (Arg("name", "new-segment", required=False),),
    (
        *CREATE_OPTIONS,
        Opt("dry-run", "estimate the size and show the SQL; save nothing", None),
        Opt("replace", "if NAME exists, make this rule and these options its next version", None),
    ),
)

_NAME = Arg("name", "segment")


def _verb(name: str, text: str, *args: Arg, opts: tuple[Opt, ...] = ()) -> tuple[str, Verb]:
    return name, Verb(name, text, tuple(args), tuple(opts))


SEGMENT_VERBS: dict[str, Verb] = dict(
    [
        _verb(
            "estimate",
            "How many entities a rule (or a set expression) selects; nothing is saved.",
            Arg("rule", "rule", rest=True),
            opts=(AS_OF, ENTITY),
        ),
        _verb(
            "sql",
            "The SQL of a stored segment, or of a rule.",
            Arg("target", "segment-or-rule", rest=True),
            opts=(
                AS_OF,
                ENTITY,
                Opt(
                    "dialect",
                    "SQL dialect of a rule's SQL (default: the warehouse's)",
                    "DIALECT",
                    "dialect",
                ),
            ),
        ),
        _verb(
            "list",
            "The segments you can see, filtered.",
            opts=(
                Opt("group", "only this group", "GROUP", "group"),
                Opt("search", "text in the name or description", "TEXT"),
                Opt("status", "only this status", "STATUS", "choice", STATUSES),
                Opt("method", "only this creation method", "METHOD", "choice", METHODS),
                ENTITY,
            ),
        ),
        _verb("groups", "Groups of segments with their segment counts."),
        _verb(
            "show", "The segment: size, status, group, expiry, rule, SQL and size history.", _NAME
        ),
        _verb(
            "members",
            "Member ids of the current version (a pandas DataFrame).",
            _NAME,
            opts=(LIMIT, COLUMNS),
        ),
        _verb(
            "history",
            "Every version: as-of date, size and times (newest last).",
            _NAME,
            opts=(LIMIT,),
        ),
        _verb(
            "changes",
            "Who entered and who left since a version or date (default the version before).",
            _NAME,
            opts=(SINCE, LIMIT),
        ),
        _verb(
            "insights",
            "Each tag's distribution in the segment against the population, with TGI.",
            _NAME,
            opts=(LIMIT,),
        ),
        _verb("verify", "Whether an id is in the segment, and since when.", _NAME, Arg("id")),
        _verb(
            "export",
            "Write the members to a .csv or .parquet file (in the engine).",
            _NAME,
            Arg("path", "path"),
            opts=(
                COLUMNS,
                Opt(
                    "changes",
                    "only the ids that entered or left",
                    "KIND",
                    "choice",
                    ("entered", "left"),
                ),
                SINCE,
            ),
        ),
        _verb("refresh", "Write a new version of the segment.", _NAME, opts=(AS_OF,)),
        _verb(
            "extend",
            "Move the expiry date (YYYY-MM-DD, or 'never').",
            _NAME,
            Arg("expires", "date"),
        ),
        _verb("delete", "Delete the segment (it is kept in the deleted-records log).", _NAME),
        _verb(
            "upload",
            "A custom-list segment from a CSV/TSV/Excel file of ids.",
            Arg("name", "new-segment"),
            Arg("path", "path"),
            opts=(
                Opt(
                    "id-type",
                    "the id the file holds: user_id, device_id, account_id, …",
                    "ID_TYPE",
                    "id-type",
                ),
                Opt(
                    "column",
                    "the file's column holding the ids (default: the only/first)",
                    "COLUMN",
                ),
                *CREATE_OPTIONS,
            ),
        ),
        _verb(
            "from-table",
            "A segment from a warehouse table (or --query) and the column holding the id.",
            Arg("name", "new-segment"),
            Arg("table", "table", required=False),
            opts=(
                Opt("id-column", "column holding the entity id", "COLUMN"),
                Opt("query", "an SQL query instead of TABLE", "SQL"),
                *CREATE_OPTIONS,
            ),
        ),
        _verb(
            "lookalike",
            "The SIZE entities most like a seed segment.",
            Arg("name", "new-segment"),
            opts=(
                Opt("seed", "seed segment", "SEGMENT", "segment"),
                Opt("size", "how many entities", "N", "number", convert=partial(to_int, minimum=1)),
                *CREATE_OPTIONS,
            ),
        ),
        _verb(
            "predict",
            "An AI prediction segment: train, evaluate, score the audience.",
            Arg("name", "new-segment"),
            opts=(
                Opt("audience", "segment to score (>= 1,000 members)", "SEGMENT", "segment"),
                Opt("positive", "positive sample segment (>= 500)", "SEGMENT", "segment"),
                Opt("negative", "negative sample segment (>= 500)", "SEGMENT", "segment"),
                Opt("tendency", "threshold choice", "TENDENCY", "choice", TENDENCIES),
                Opt("model", "estimator (default auto)", "MODEL", "choice", MODELS),
                Opt("horizon", "forecast: train this far before (7d, 39w)", "H"),
                Opt(
                    "exclude",
                    "tags or events left out of the features, comma-separated",
                    "A,B",
                    "feature",
                    convert=to_list,
                ),
                *CREATE_OPTIONS,
            ),
        ),
        _verb(
            "help",
            "Help on the verbs of %segment, or on one.",
            Arg("topic", "segment-verb", required=False),
        ),
    ]
)

SEGNB_VERBS: dict[str, Verb] = dict(
    [
        _verb(
            "connect",
            "Connect to a warehouse: a URL (duckdb:///file.duckdb, postgres://…), "
            "or --var NAME for a Python variable holding an Ibis backend, a URL or a Workspace. "
            "No URL: SegNB.url, else url of segnb.toml.",
            Arg("url", "url", required=False),
            opts=(
                Opt("var", "Python variable holding the connection", "NAME", "var"),
                Opt(
                    "catalog",
                    "catalog file (default: segnb.toml, else the warehouse's own)",
                    "PATH",
                    "path",
                ),
                Opt(
                    "tz",
                    "time zone for T (default SegNB.timezone, else local time)",
                    "TZ",
                    "timezone",
                ),
                Opt("read-only", "open a DuckDB file read-only (estimates only)", None),
            ),
        ),
        _verb(
            "demo",
            "Write the demo e-commerce warehouse (DuckDB) and connect to it; an existing "
            "file is reused unless --force.",
            opts=(
                Opt("path", "file to write (warehouse.duckdb)", "PATH", "path"),
                Opt(
                    "users",
                    "number of users (100000)",
                    "N",
                    "number",
                    convert=partial(to_int, minimum=1),
                ),
                Opt(
                    "days",
                    "days of snapshots and events (60)",
                    "N",
                    "number",
                    convert=partial(to_int, minimum=1),
                ),
                Opt("seed", "random seed (0)", "N", "number", convert=to_int),
                Opt("end", "last day of data (default yesterday)", "DATE", "date", convert=to_date),
                Opt("force", "overwrite an existing file", None),
            ),
        ),
        _verb(
            "catalog",
            "Tags, attributes, events and event fields with their types and sample values.",
            opts=(ENTITY, Opt("no-values", "leave out the sample values (no queries)", None)),
        ),
        _verb("status", "The connection, the store and the settings in use."),
        _verb("disconnect", "Close the connection the magics opened."),
        _verb(
            "wizard",
            "The segment wizard: build a rule from tags, behaviour, attributes, segments and "
            "scores with a live estimate, then create it (segnb.widgets.SegmentWizard). "
            "'%segnb wizard sets' combines segments (SetWizard), 'upload' saves a list of ids "
            "(UploadWizard), 'lookalike' finds look-alikes of a seed (LookalikeWizard) and "
            "'predict' trains a propensity model (PredictWizard).",
            Arg("app", "wizard-app", required=False, convert=to_app),
        ),
        _verb(
            "browse",
            "The segment browser: search, filter, cards or list; details, refresh, export, "
            "verify, extend, delete and plans (segnb.widgets.SegmentBrowser).",
        ),
        _verb(
            "help",
            "Help on the verbs of %segnb, or on one.",
            Arg("topic", "segnb-verb", required=False),
        ),
    ]
)
