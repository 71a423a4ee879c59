"""Custom-list segments: CSV, TSV or Excel files of ids (SPEC §2).

The file is read column-wise with pyarrow (BOM, quotes, blank lines and
ragged rows handled), its ids are checked against the id type (the entity id
or an id attribute such as ``device_id``), and the distinct valid ids are
loaded into a list table of the store (``segnb_l_<token>``). Matching against
the entities happens in the engine; unmatched ids are kept per version and
stay retrievable (``seg.unmatched()``). Nothing is written as a segment
unless the file is readable and at least one id matches.

Examples
--------
>>> seg = ws.upload("crm_list", "ids.csv", id_type="device_id")   # doctest: +SKIP
>>> seg.to_dict()["details"]["report"]                            # doctest: +SKIP
{'rows': 1000000, 'malformed': 12, 'duplicates': 40, 'matched': 899950, 'unmatched': 99998}
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from segnb.errors import InvalidValueError, UploadError
from segnb.hints import did_you_mean
from segnb.segments.context import Context
from segnb.segments.methods import Built
from segnb.segments.status import definition_of

__all__ = [
    "UploadMethod",
    "id_type_column",
    "list_extra",
    "list_members",
    "read_ids",
    "unmatched_extra",
]

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
MAX_ID_LENGTH = 256
SAMPLES = 10


def id_type_column(ent: Any, id_type: str | None) -> tuple[str, Any]:
    """The entity-table column an id type names, and its type (``"device id"`` -> device_id)."""
    if id_type is None:
        return ent.id, ent.id_dtype
    key = str(id_type).strip().lower().replace(" ", "_").replace("-", "_")
    if key == "id":
        return ent.id, ent.id_dtype
    if key in ent.id_columns:
        return key, ent.id_columns[key]
    if key in ent.attributes:
        dtype = ent.attributes[key].dtype
        if dtype.is_string() or dtype.is_integer():
            return key, dtype
    options = list(ent.id_columns) + [
        n for n, f in ent.attributes.items() if f.dtype.is_string() or f.dtype.is_integer()
    ]
    raise InvalidValueError(
        f"id_type={id_type!r} is not an id column of {ent.name}"
        + did_you_mean(key, options)
        + f" (choose from {', '.join(options)}; declare more with ids = [...] in the catalog)"
    )


def _check_text(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise UploadError(f"{path.name!r} is empty: it holds no ids", {"rows": 0})
    if b"\x00" in head:
        at = head.index(b"\x00")
        raise UploadError(
            f"{path.name!r} is not a text file (binary data at byte {at}); "
            "upload a CSV/TSV saved as UTF-8 text, or an Excel .xlsx file"
        )
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head)
    except UnicodeDecodeError as exc:
        raise UploadError(
            f"{path.name!r} is not UTF-8 text (bad byte at {exc.start}); save it as CSV UTF-8"
        ) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    if path.suffix.lower() == ".tsv" or ("\t" in first and "," not in first):
        return "\t"
    if ";" in first and "," not in first:  # what Excel writes where ',' is the decimal mark
        return ";"
    return ","


def _read_text(path: Path) -> tuple[list[list[str]] | pa.Table, int]:
    import pyarrow.csv as pacsv

    delimiter = _check_text(path)
    ragged: list[Any] = []

    def skip(row: Any) -> str:
        ragged.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(256)},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise UploadError(
            f"{path.name!r} cannot be read as CSV: {str(exc).splitlines()[0]}"
        ) from None
    return table, len(ragged)


def _read_excel(path: Path) -> tuple[pa.Table, int]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover
        raise UploadError("reading Excel files needs openpyxl: pip install openpyxl") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise UploadError(
            f"{path.name!r} is not a readable Excel .xlsx file ({type(exc).__name__})"
        ) from None
    try:
        sheet = book.worksheets[0]
        rows = [
            ["" if v is None else _cell(v) for v in row]
            for row in sheet.iter_rows(values_only=True)
            if any(v not in (None, "") for v in row)
        ]
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    columns = {f"f{i}": [r[i] if i < len(r) else "" for r in rows] for i in range(width)}
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), _formulas(path)


def _formulas(path: Path) -> int:
    """Rows whose formulas were saved without a value: they hold no id, so they are malformed.

    Excel saves each formula's last value; files written by other tools may
    not, and then the cell reads as empty.
    """
    import openpyxl

    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        count = 0
        pairs = zip(
            values.worksheets[0].iter_rows(values_only=True),
            formulas.worksheets[0].iter_rows(values_only=True),
            strict=False,
        )
        for seen, written in pairs:  # rows read as empty although a formula stands there
            if all(v in (None, "") for v in seen) and any(
                isinstance(f, str) and f.startswith("=") for f in written
            ):
                count += 1
        return count
    finally:
        values.close()
        formulas.close()


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 42 as 42.0
    return str(value)


def read_ids(path: str | os.PathLike, ent: Any, id_type: str | None, column: str | None = None):
    """Read the ids of a file: (array of valid ids, report dict, malformed samples)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise UploadError(f"no file at {str(file)!r} (working directory {os.getcwd()!r})")
    suffix = file.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        table, ragged = _read_excel(file)
    elif suffix == ".xls":
        raise UploadError(f"{file.name!r} is an old .xls workbook; save it as .xlsx or CSV")
    else:
        table, ragged = _read_text(file)
    name, dtype = id_type_column(ent, id_type)
    if table.num_rows == 0 or table.num_columns == 0:
        raise UploadError(f"{file.name!r} holds no ids", {"rows": 0, "malformed": ragged})
    first = [str(table.column(i)[0].as_py()).strip() for i in range(table.num_columns)]
    lowered = [c.lower() for c in first]
    index, header = 0, False
    if column is not None:
        if column.lower() not in lowered:
            raise UploadError(
                f"{file.name!r} has no column {column!r}"
                + did_you_mean(column, first)
                + f" (its first row is: {', '.join(first)})"
            )
        index, header = lowered.index(column.lower()), True
    else:
        for candidate in (name, ent.id, str(id_type or "").lower().replace(" ", "_"), "id"):
            if candidate and candidate.lower() in lowered:
                index, header = lowered.index(candidate.lower()), True
                break
        else:
            if table.num_columns > 1:
                semi = (
                    "; the cells hold ';': save the file with one separator"
                    if any(";" in c for c in first)
                    else ""
                )
                raise UploadError(
                    f"{file.name!r} has {table.num_columns} columns and none is named {name!r}; "
                    f"pass column= (its first row is: {', '.join(first)}){semi}"
                )
            if dtype.is_integer() and not _is_int(first[0]) and table.num_rows > 1:
                header = True  # a title row like "customer" above the numbers
    values = table.column(index)
    if header:
        values = values.slice(1)
    values = pc.utf8_trim_whitespace(values.combine_chunks() if values.num_chunks else values)
    if dtype.is_integer():
        values = pc.replace_substring_regex(values, r"^\+", "")
        ok = pc.match_substring_regex(values, r"^-?[0-9]{1,18}$")
    else:
        ok = pc.and_(
            pc.greater(pc.utf8_length(values), 0),
            pc.and_(
                pc.less_equal(pc.utf8_length(values), MAX_ID_LENGTH),
                pc.invert(pc.match_substring_regex(values, r"[\x00-\x1f]")),
            ),
        )
    ok = pc.fill_null(ok, False)
    valid = values.filter(ok)
    if dtype.is_integer():
        valid = pc.cast(valid, pa.int64())
    bad = values.filter(pc.invert(ok))
    rows = len(values) + ragged
    distinct = pc.unique(valid)
    report = {
        "file": file.name, "id_type": name, "rows": rows,
        "malformed": len(bad) + ragged, "duplicates": len(valid) - len(distinct),
    }  # fmt: skip
    samples = [s for s in bad.slice(0, SAMPLES).to_pylist()]
    if len(distinct) == 0:
        hint = "check the file and id_type"
        if any(isinstance(s, str) and ";" in s for s in samples):
            hint = "the values hold ';': save the file with ',' between columns, or pass column="
        raise UploadError(
            f"{file.name!r} has no valid {name} values ({rows} rows, {report['malformed']} "
            f"malformed, e.g. {samples[:3]!r}); {hint}",
            report,
        )
    return distinct, report, samples


def _is_int(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isdigit()


# -- the list table and matching ------------------------------------------------


def _load_list(ctx: Context, table: str, values: pa.Array) -> None:
    kind = "BIGINT" if pa.types.is_integer(values.type) else "TEXT"
    ctx.store.data.load(table, pa.table({"value": values}), {"value": kind})


def _entity_ids(ctx: Context, ent: Any, column: str):
    table = ctx.catalog.table(ent.table)
    return table.filter(table[column].notnull())


def _checksum(path: Any) -> str:
    """SHA-256 of the uploaded file, kept with the definition (it names what was uploaded)."""
    with open(Path(path).expanduser(), "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def list_members(ctx: Context, ent: Any, definition: dict[str, Any]):
    """Entities whose id-type column is in the uploaded list (an Ibis table of ids)."""
    column = definition["column"]
    entities = _entity_ids(ctx, ent, column)
    listed = ctx.store.ibis_table(definition["list_table"])
    return entities.semi_join(listed, entities[column] == listed["value"]).select(ent.id).distinct()


def _unmatched_table(ctx: Context, row: dict[str, Any], version: int, expr: Any) -> tuple[str, int]:
    store = ctx.store
    table = f"segnb_u_{row['id']}_{version}"
    store.data.create(table, store.con.compile(expr))
    return table, store.data.count(table)


def list_extra(
    ctx: Context, row: dict[str, Any], version: int, member_table: str
) -> dict[str, Any]:
    """Counts of one upload version and its unmatched ids (kept in a side table)."""
    definition = definition_of(row)
    ent = ctx.entity(row["entity"])
    column = definition["column"]
    listed = ctx.store.ibis_table(definition["list_table"])
    entities = _entity_ids(ctx, ent, column)
    missing = listed.anti_join(entities, listed["value"] == entities[column]).select(
        id=listed["value"]
    )
    table, unmatched = _unmatched_table(ctx, row, version, missing)
    distinct = ctx.store.data.count(definition["list_table"])
    report = dict(definition.get("report", {}), matched=distinct - unmatched, unmatched=unmatched)
    return {"report": report, "unmatched_table": table, "tables": [table]}


def unmatched_extra(
    ctx: Context, row: dict[str, Any], version: int, member_table: str, source: Any
) -> dict[str, Any]:
    """from_table: ids of the source that are not entities, kept in a side table."""
    ent = ctx.entity(row["entity"])
    entities = _entity_ids(ctx, ent, ent.id)
    missing = source.anti_join(entities, ent.id).select(id=source[ent.id])
    table, unmatched = _unmatched_table(ctx, row, version, missing)
    size = ctx.store.data.count(member_table)
    report = {"source_ids": size + unmatched, "matched": size, "unmatched": unmatched}
    return {"report": report, "unmatched_table": table, "tables": [table]}


class UploadMethod:
    """``method="upload"``: the entities listed in a CSV/TSV/Excel file of ids."""

    name = "upload"

    def prepare(
        self, ctx: Context, name: str, *, entity: Any, as_of: Any, path: str | os.PathLike,
        id_type: str | None = None, column: str | None = None,
    ):  # fmt: skip
        """Read the file and load its distinct ids into a list table (see module docs)."""
        ent = ctx.entity(entity)
        values, report, samples = read_ids(path, ent, id_type, column)
        col, _ = id_type_column(ent, id_type)
        list_table = f"segnb_l_{uuid.uuid4().hex[:12]}"
        store = ctx.store
        definition = {
            "file": str(Path(path).expanduser().resolve()), "id_type": col, "column": col,
            "checksum": _checksum(path),
            "list_table": list_table, "report": report, "malformed_samples": samples,
        }  # fmt: skip
        try:
            with store.db.transaction():
                _load_list(ctx, list_table, values)
            listed = store.ibis_table(list_table)
            entities = _entity_ids(ctx, ent, col)
            matched = int(
                listed.semi_join(entities, listed["value"] == entities[col])
                .count()
                .to_pyarrow()
                .as_py()
            )
            report = dict(report, matched=matched, unmatched=len(values) - matched)
            if matched == 0:
                raise UploadError(
                    f"none of the {len(values)} distinct ids in {report['file']!r} is a {col} of "
                    f"{ent.name} (e.g. {values.slice(0, 3).to_pylist()!r}); check id_type "
                    f"(now {col!r}) or the file",
                    report,
                )
        except BaseException:
            self.discard(ctx, definition)
            raise
        definition["report"] = report
        return ent, definition

    def discard(self, ctx: Context, definition: dict[str, Any]) -> None:
        """Drop the list table of an upload whose segment was not created."""
        store = ctx.store
        with contextlib.suppress(Exception):
            store.drop_table(definition["list_table"])

    def build(
        self, ctx: Context, row: dict[str, Any], as_of: Any, *, retrain: bool = False,
        check: bool = True,
    ) -> Built:  # fmt: skip
        definition = definition_of(row)
        members = list_members(ctx, ctx.entity(row["entity"]), definition)
        return Built(members, extra=lambda stored, version, table: list_extra(
            ctx, stored, version, table
        ))  # fmt: skip

    def uses(self, definition: dict[str, Any]) -> list[tuple[str, str]]:
        return []
