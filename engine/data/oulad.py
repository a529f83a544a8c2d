"""Native import of the Open University Learning Analytics Dataset (OULAD; Kuzilek, Hlosta &
Zdrahal 2017, "Open University Learning Analytics dataset", Scientific Data 4:170171; CC BY 4.0).

OULAD is a course platform's log: students register for a *module presentation* (module AAA…
GGG, presentation 2013B/2013J/2014B/2014J) and may unregister (withdraw) before it ends. Here
a registration is a course platform's enrolment — its subscription — and an unregistration
its cancellation.

**Dates.** OULAD gives every date as days relative to the start of the module presentation
and publishes no calendar dates. The paper names presentations by year and month of start:
"B" starts in February, "J" in October. Each presentation code is anchored on the first of
that month (:func:`presentation_start`: 2013B → 2013-02-01, 2013J → 2013-10-01, 2014B →
2014-02-01, 2014J → 2014-10-01) and an event on relative day d happens at anchor + d days,
00:00. Anchors within a month of the truth keep every within-presentation interval exact.

Mapping onto the canonical model (see :mod:`engine.data.schema`):

* ``users`` ← studentInfo.csv, one row per ``id_student``: joined_at (first registration),
  gender, region, highest_education, imd_band, age_band, disability (from the latest
  presentation the student took).
* ``items`` ← courses.csv, one item per module presentation: item_id ``AAA-2013J``, kind
  ``course``, title, tags [module], created_at = starts_at (the anchor), length_days, ends_at,
  code_module, code_presentation.
* ``events``: ``enroll`` at the registration date, ``unenroll`` at the unregistration date
  (studentRegistration.csv; a registration without a date gets no enroll event — 45 rows in
  the official release); and when the folder has them, ``view`` per student, presentation and
  day from studentVle.csv (value = clicks that day) and ``submit`` per assessment from
  studentAssessment.csv (value = score; the item is the presentation).
* ``registrations`` (extra table): one row per student and presentation — user_id, item_id,
  registered_at, unregistered_at, final_result (Pass, Fail, Withdrawn, Distinction),
  num_of_prev_attempts, studied_credits: the outcomes a churn analysis checks against.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.data.profile import DatasetProfile, profile_events
from engine.data.schema import TS
from engine.errors import DataError
from engine.progress import Progress, no_progress

REQUIRED_FILES = ("studentInfo.csv", "studentRegistration.csv", "courses.csv")
OPTIONAL_FILES = ("assessments.csv", "studentAssessment.csv", "studentVle.csv")
PRESENTATION = re.compile(r"^(\d{4})([BJ])$")
START_MONTH = {"B": 2, "J": 10}

COLUMNS: dict[str, dict[str, type[pl.DataType]]] = {
    "courses.csv": {"code_module": pl.String, "code_presentation": pl.String, "module_presentation_length": pl.Int64},
    "studentInfo.csv": {
        "code_module": pl.String, "code_presentation": pl.String, "id_student": pl.Int64, "gender": pl.String,
        "region": pl.String, "highest_education": pl.String, "imd_band": pl.String, "age_band": pl.String,
        "num_of_prev_attempts": pl.Int64, "studied_credits": pl.Int64, "disability": pl.String,
        "final_result": pl.String,
    },
    "studentRegistration.csv": {
        "code_module": pl.String, "code_presentation": pl.String, "id_student": pl.Int64,
        "date_registration": pl.Int64, "date_unregistration": pl.Int64,
    },
    "assessments.csv": {"code_module": pl.String, "code_presentation": pl.String, "id_assessment": pl.Int64},
    "studentAssessment.csv": {"id_assessment": pl.Int64, "id_student": pl.Int64, "date_submitted": pl.Int64,
                              "score": pl.Float64},
    "studentVle.csv": {"code_module": pl.String, "code_presentation": pl.String, "id_student": pl.Int64,
                       "date": pl.Int64, "sum_click": pl.Int64},
}
KEY = ("code_module", "code_presentation", "id_student")


@dataclass(frozen=True)
class OuladResult:
    tables: dict[str, int]
    files: dict[str, int]  # rows read per CSV file
    schema: dict[str, dict[str, str]]
    profile: DatasetProfile


def is_oulad(folder: Path) -> bool:
    """Whether ``folder`` holds the OULAD CSVs (studentInfo.csv and studentRegistration.csv)."""
    folder = Path(folder)
    return folder.is_dir() and all((folder / n).exists() for n in ("studentInfo.csv", "studentRegistration.csv"))


def presentation_start(code: str) -> dt.date:
    """The anchor date of a presentation code: ``2014J`` → 2014-10-01, ``2013B`` → 2013-02-01.

    >>> presentation_start("2013B"), presentation_start("2014J")
    (datetime.date(2013, 2, 1), datetime.date(2014, 10, 1))
    """
    match = PRESENTATION.match(code or "")
    if not match:
        raise DataError(f"presentation code {code!r} is not YEAR followed by B or J (e.g. 2014J)")
    return dt.date(int(match.group(1)), START_MONTH[match.group(2)], 1)


def read_csv(path: Path) -> pl.DataFrame:
    """One OULAD file with its expected columns typed; a bad cell is reported by line and field."""
    wanted = COLUMNS[path.name]
    try:
        raw = pl.read_csv(path, infer_schema=False, null_values=[""])
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"unreadable CSV ({str(exc).splitlines()[0]})", file=path.name) from None
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=path.name)
    raw = raw.select(list(wanted)).with_row_index("_line", offset=2)
    typed = raw.select("_line", *[pl.col(c).str.strip_chars().cast(t, strict=False) for c, t in wanted.items()])
    for column, dtype in wanted.items():
        if dtype == pl.String:
            continue
        bad = typed.filter(pl.col(column).is_null() & raw[column].is_not_null())
        if bad.height:
            line = bad["_line"][0]
            value = raw.filter(pl.col("_line") == line)[column][0]
            raise DataError(f"{value!r} is not a number", file=path.name, line=line, field=column)
    for column in ("code_presentation", "id_student", "code_module", "id_assessment"):
        if column in wanted:
            bad = typed.filter(pl.col(column).is_null())
            if bad.height:
                raise DataError("empty value", file=path.name, line=bad["_line"][0], field=column)
    return typed


def import_folder(folder: Path, dest: Path, progress: Progress = no_progress) -> OuladResult:
    """Read an OULAD folder and write users, items, events and registrations as Parquet into ``dest``."""
    folder = Path(folder)
    for name in REQUIRED_FILES:
        if not (folder / name).exists():
            raise DataError(f"not an OULAD folder: {name} is missing", file=str(folder))
    present = [n for n in REQUIRED_FILES + OPTIONAL_FILES if (folder / n).exists()]
    raw: dict[str, pl.DataFrame] = {}
    for i, name in enumerate(present):
        progress(i / (len(present) + 1), f"reading {name}")
        raw[name] = read_csv(folder / name)
    progress(len(present) / (len(present) + 1), "mapping to the canonical model")
    items = _items(raw["courses.csv"])
    starts = items.select("code_module", "code_presentation", "item_id", "created_at")
    registrations = _registrations(raw["studentInfo.csv"], raw["studentRegistration.csv"], starts)
    events = _events(registrations, raw, starts)
    users = _users(raw["studentInfo.csv"], registrations, starts)
    tables = {"users": users, "items": items.drop("created_at_day"), "events": events, "registrations": registrations}
    dest = Path(dest)
    for name, frame in tables.items():
        frame.write_parquet(dest / f"{name}.parquet")
    profile = profile_events(events.lazy()).with_counts(n_users=users.height, n_items=items.height)
    progress(1.0, "written")
    return OuladResult(
        tables={name: frame.height for name, frame in tables.items()},
        files={name: frame.height for name, frame in raw.items()},
        schema={name: {c: str(t) for c, t in frame.schema.items()} for name, frame in tables.items()},
        profile=profile,
    )


def _day(base: pl.Expr, days: pl.Expr) -> pl.Expr:
    return (base + pl.duration(days=days)).cast(TS)


def _items(courses: pl.DataFrame) -> pl.DataFrame:
    dup = courses.filter(pl.struct("code_module", "code_presentation").is_duplicated())
    if dup.height:
        raise DataError("duplicate module presentation", file="courses.csv", line=dup["_line"][1], field="code_presentation")
    anchors = {code: presentation_start(code) for code in courses["code_presentation"].unique().to_list()}
    return courses.select(
        (pl.col("code_module") + "-" + pl.col("code_presentation")).alias("item_id"),
        pl.lit("course").alias("kind"),
        pl.lit(None, dtype=pl.Int64).alias("creator_id"),
        pl.lit(None, dtype=pl.Float64).alias("price"),
        pl.concat_list(pl.col("code_module")).alias("tags"),
        pl.col("code_presentation").replace_strict(anchors, return_dtype=pl.Date).cast(TS).alias("created_at"),
        ("Module " + pl.col("code_module") + " " + pl.col("code_presentation")).alias("title"),
        pl.col("code_module"),
        pl.col("code_presentation"),
        pl.col("module_presentation_length").alias("length_days"),
    ).with_columns(
        pl.col("created_at").alias("starts_at"),
        _day(pl.col("created_at"), pl.col("length_days")).alias("ends_at"),
        pl.col("created_at").alias("created_at_day"),
    ).sort("item_id")


def _registrations(info: pl.DataFrame, reg: pl.DataFrame, starts: pl.DataFrame) -> pl.DataFrame:
    for name, frame in (("studentInfo.csv", info), ("studentRegistration.csv", reg)):
        dup = frame.filter(pl.struct(*KEY).is_duplicated())
        if dup.height:
            raise DataError("duplicate student registration", file=name, line=dup["_line"][1], field="id_student")
        unknown = frame.join(starts, on=["code_module", "code_presentation"], how="anti")
        if unknown.height:
            row = unknown.row(0, named=True)
            raise DataError(f"module presentation {row['code_module']} {row['code_presentation']} is not in courses.csv",
                            file=name, line=row["_line"], field="code_presentation")
    joined = info.drop("_line").join(reg.drop("_line"), on=list(KEY), how="full", coalesce=True)
    return joined.join(starts, on=["code_module", "code_presentation"]).select(
        pl.col("id_student").alias("user_id"),
        "item_id",
        "code_module",
        "code_presentation",
        _day(pl.col("created_at"), pl.col("date_registration")).alias("registered_at"),
        _day(pl.col("created_at"), pl.col("date_unregistration")).alias("unregistered_at"),
        "final_result",
        "num_of_prev_attempts",
        "studied_credits",
    ).sort("user_id", "item_id")


def _events(registrations: pl.DataFrame, raw: dict[str, pl.DataFrame], starts: pl.DataFrame) -> pl.DataFrame:
    parts = [
        registrations.filter(pl.col("registered_at").is_not_null()).select(
            "user_id", "item_id", pl.lit("enroll").alias("kind"), pl.col("registered_at").alias("ts"),
            pl.lit(1.0).alias("value")),
        registrations.filter(pl.col("unregistered_at").is_not_null()).select(
            "user_id", "item_id", pl.lit("unenroll").alias("kind"), pl.col("unregistered_at").alias("ts"),
            pl.lit(1.0).alias("value")),
    ]
    if "studentVle.csv" in raw:
        clicks = raw["studentVle.csv"].join(starts, on=["code_module", "code_presentation"], how="inner")
        parts.append(
            clicks.group_by("id_student", "item_id", "date", "created_at")
            .agg(pl.col("sum_click").sum())
            .select(pl.col("id_student").alias("user_id"), "item_id", pl.lit("view").alias("kind"),
                    _day(pl.col("created_at"), pl.col("date")).alias("ts"), pl.col("sum_click").cast(pl.Float64).alias("value"))
        )
    if "studentAssessment.csv" in raw and "assessments.csv" in raw:
        which = raw["assessments.csv"].join(starts, on=["code_module", "code_presentation"], how="inner")
        subs = raw["studentAssessment.csv"].join(which.select("id_assessment", "item_id", "created_at"), on="id_assessment")
        parts.append(
            subs.filter(pl.col("date_submitted").is_not_null()).select(
                pl.col("id_student").alias("user_id"), "item_id", pl.lit("submit").alias("kind"),
                _day(pl.col("created_at"), pl.col("date_submitted")).alias("ts"),
                pl.col("score").fill_null(0.0).alias("value"))
        )
    events = pl.concat(parts, how="vertical").with_columns(pl.lit(0.0).alias("amount"))
    return events.select(
        pl.col("user_id").cast(pl.Int64), pl.col("item_id").cast(pl.String), "kind", pl.col("ts").cast(TS),
        pl.col("value").cast(pl.Float64), "amount",
    ).sort(["ts", "user_id", "item_id", "kind"])


def _users(info: pl.DataFrame, registrations: pl.DataFrame, starts: pl.DataFrame) -> pl.DataFrame:
    latest = (
        info.join(starts, on=["code_module", "code_presentation"])
        .sort("id_student", "created_at", "code_module")
        .group_by("id_student").last()
    )
    joined = registrations.group_by("user_id").agg(pl.col("registered_at").min().alias("joined_at"))
    return latest.select(
        pl.col("id_student").alias("user_id"), "gender", "region", "highest_education", "imd_band", "age_band", "disability",
    ).join(joined, on="user_id", how="left").select(
        "user_id", "joined_at", "gender", "region", "highest_education", "imd_band", "age_band", "disability",
    ).sort("user_id")
