"""The 1900..2100 timestamp range, checked off the column's min and max: its edges, and a bad
time anywhere (first, last, in the middle) still named by its line."""

from __future__ import annotations

import pytest

from engine.data.tabular import TableRequest, ingest_tables
from engine.errors import DataError

GOOD = ["1,10,view,2024-01-02T00:00:00"] * 3


def ingest(tmp_path, rows):
    src = tmp_path / "events.csv"
    src.write_text("user_id,item_id,kind,ts\n" + "\n".join(rows) + "\n")
    dest = tmp_path / "out"
    dest.mkdir()
    return ingest_tables(TableRequest(src), dest)


def test_the_edges_of_the_range_are_kept(tmp_path):
    result = ingest(tmp_path, ["1,10,view,1900-01-01T00:00:00", "2,11,view,2099-12-31T23:59:59"])
    assert (result.profile.ts_min.year, result.profile.ts_max.year) == (1900, 2099)


@pytest.mark.parametrize("at", [0, 1, 3])
@pytest.mark.parametrize("ts", ["1899-12-31T23:59:59", "2100-01-01T00:00:00"])
def test_a_time_outside_the_range_is_named_by_its_line(tmp_path, at, ts):
    rows = list(GOOD)
    rows.insert(at, f"2,11,view,{ts}")
    with pytest.raises(DataError) as err:
        ingest(tmp_path, rows)
    assert (err.value.line, err.value.field) == (at + 2, "ts")
    assert f"timestamp '{ts}' is outside 1900..2100" in err.value.reason
