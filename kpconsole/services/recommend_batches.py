"""Many users' recommendation lists, batch by batch, written by the export writer
(:func:`export_recommendations`, ``recommend --all/--users --out``).

Each list is the one ``recommend USER`` gives (:mod:`kpconsole.services.recommend`): users the
model knows with a training history are scored together on the model's device
(:func:`engine.recommend.serving.serve_batch`, the path ``serve`` takes for one user), with
the same filters (training items, ``hide``, purchases) and MMR diversity; anyone else gets the
cold-start list of their segment (or overall), computed once per segment and filter and reused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import torch

from engine.progress import Progress, no_progress
from engine.recommend.explain import explain as explain_items
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.serving import serve, serve_batch
from kpconsole.services import datasets
from kpconsole.services.exports import FORMATS, ExportSummary, ExportTarget, InvalidExport, write_export
from kpconsole.services.models import LoadedModel
from kpconsole.services.recommend import VERBS, _sentence
from kpconsole.reads import segments as segment_reads
from kpconsole.session import Session
from store import segments as segment_store
from store.errors import NotFound

MAX_BATCH = 4096

SCORE_BYTES = 1 << 27
"""About how much memory one batch's score matrix may take (128 MiB of float32 scores)."""


@dataclass(frozen=True)
class RecommendationExport:
    """What ``recommend --all`` asks for, in plain values."""

    model_id: int
    k: int = 20
    users: Path | None = None  # a file of user IDs; None: every user the model knows
    explain: bool = False
    diversity: float = 0.0
    exclude_purchased: bool = False
    hide: tuple[str, ...] = ()
    device: str = "auto"
    batch_size: int | None = None  # users per batch; None: as many as SCORE_BYTES allows


class RecommendationBatches:
    """The rows of every list, as frames of one batch of users each (see the module docstring)."""

    def __init__(self, session: Session, loaded: LoadedModel, request: RecommendationExport, ids: pl.Series) -> None:
        self.session, self.loaded, self.request = session, loaded, request
        self.ids = ids
        self.index = loaded.user_index(ids)
        history = loaded.train
        counts = history.row_counts()
        self.known = (self.index >= 0) & (counts[self.index.clamp(min=0)] > 0)
        self.width = min(request.k, history.n_items)
        self.hidden = self._hidden()
        self.events = self._events() if request.exclude_purchased or request.explain else None
        self.purchased_pairs, self.purchased = self._purchases() if request.exclude_purchased else (None, {})
        self.titles, self.verbs = self._facts() if request.explain else ({}, {})
        self.cold_lists: dict[tuple, tuple[list[int], list[float], str]] = {}
        self.members: dict[tuple[int, int], torch.Tensor | None] = {}

    # --- set-up ----------------------------------------------------------------------------

    def schema(self) -> dict[str, pl.DataType]:
        out = {"user_id": self.ids.dtype, "rank": pl.Int32, "item_id": self.loaded.item_ids.dtype,
               "score": pl.Float32}
        if self.request.explain:
            out["reason"] = pl.String
        return out

    def batch_size(self) -> int:
        if self.request.batch_size:
            return max(1, int(self.request.batch_size))
        return max(1, min(MAX_BATCH, SCORE_BYTES // (4 * max(1, self.loaded.train.n_items))))

    def _hidden(self) -> torch.Tensor:
        if not self.request.hide:
            return torch.zeros(0, dtype=torch.int64)
        found = self.loaded.item_index(list(self.request.hide))
        if (found < 0).any():
            unknown = self.request.hide[int(torch.nonzero(found < 0)[0])]
            raise InvalidExport("hide", unknown, f"is not among model {self.loaded.record.id}'s items")
        return found

    def _events(self) -> pl.LazyFrame | None:
        try:
            record = datasets.get(self.session, self.loaded.record.dataset)
        except NotFound:
            return None
        self.record = record
        events = datasets.load(record, "events")
        wanted = self.ids.cast(events.collect_schema()["user_id"], strict=False).drop_nulls()
        return events.filter(pl.col("user_id").is_in(wanted.implode()))

    def _purchases(self) -> tuple[UserItemMatrix | None, dict]:
        """What each exported user bought: as model pairs for known users, by ID for the rest."""
        if self.events is None:
            return None, {}
        bought = (self.events.filter(pl.col("kind") == "purchase").select("user_id", "item_id").unique()
                  .collect())
        users = self.loaded.user_index(bought["user_id"])
        items = self.loaded.item_index(bought["item_id"])
        both = (users >= 0) & (items >= 0)
        train = self.loaded.train
        pairs = UserItemMatrix.from_pairs(users[both], items[both], None, train.n_users, train.n_items)
        cold = bought.with_columns(pl.Series("i", items.numpy())).filter(pl.col("i") >= 0)
        by_user = {u: torch.tensor(g, dtype=torch.int64) for u, g in
                   cold.group_by("user_id").agg(pl.col("i")).iter_rows()}
        return pairs, by_user

    def _facts(self) -> tuple[dict, dict]:
        """Item titles, and the verb of each (user, item) interaction (the strongest kind)."""
        if self.events is None:
            return {}, {}
        titles = {}
        if "items" in self.record.tables:
            items = datasets.load(self.record, "items")
            if "title" in items.collect_schema().names():
                table = items.select("item_id", "title").collect()
                titles = dict(zip(table["item_id"].to_list(), table["title"].to_list(), strict=True))
        order = {kind: rank for rank, kind in enumerate(VERBS)}
        strongest = (self.events.select("user_id", "item_id", "kind").unique()
                     .with_columns(pl.col("kind").replace_strict(order, default=len(order)).alias("_rank"))
                     .sort("_rank").unique(["user_id", "item_id"], keep="first").collect())
        verbs = {(u, i): VERBS.get(kind, kind) for u, i, kind in
                 strongest.select("user_id", "item_id", "kind").iter_rows()}
        return titles, verbs

    # --- the batches -------------------------------------------------------------------------

    def frames(self, progress: Progress) -> Iterator[pl.DataFrame]:
        n, size = len(self.ids), self.batch_size()
        for start in range(0, n, size):
            stop = min(n, start + size)
            yield self._batch(start, stop)
            progress(stop / n, f"{stop:,} of {n:,} users")

    def _batch(self, start: int, stop: int) -> pl.DataFrame:
        b = stop - start
        index, known = self.index[start:stop], self.known[start:stop]
        items = torch.full((b, self.width), -1, dtype=torch.int64)
        scores = torch.full((b, self.width), float("-inf"), dtype=torch.float32)
        reasons: list[list[str]] = [[] for _ in range(b)]
        rows = torch.nonzero(known).flatten()
        if len(rows):
            got, top = serve_batch(self.loaded.model, index[rows], self.request.k, blocked=self.hidden,
                                   blocked_pairs=self.purchased_pairs, diversity=self.request.diversity)
            items[rows], scores[rows] = got, top
            if self.request.explain:
                for row in rows.tolist():
                    reasons[row] = self._explained(int(index[row]), self.ids[start + row], items[row])
        for row in torch.nonzero(~known).flatten().tolist():
            user = self.ids[start + row]
            got, top, source = self._cold(user, int(index[row]))
            items[row, :len(got)] = torch.tensor(got, dtype=torch.int64)
            scores[row, :len(top)] = torch.tensor(top, dtype=torch.float32)
            reasons[row] = [source] * len(got)
        valid = items >= 0
        per_user = valid.sum(1)
        owner = torch.repeat_interleave(torch.arange(b), per_user)
        columns = {
            "user_id": self.ids.slice(start, b).gather(pl.Series(owner.numpy())),
            "rank": pl.Series((torch.cumsum(valid.to(torch.int32), 1)[valid]).numpy(), dtype=pl.Int32),
            "item_id": self.loaded.item_ids.gather(pl.Series(items[valid].numpy())),
            "score": pl.Series(scores[valid].numpy(), dtype=pl.Float32),
        }
        if self.request.explain:
            columns["reason"] = pl.Series([r for user_reasons in reasons for r in user_reasons], dtype=pl.String)
        return pl.DataFrame({name: series.alias(name) for name, series in columns.items()})

    def _explained(self, index: int, user, items: torch.Tensor) -> list[str]:
        """The "because you …" sentence of each of a known user's items, as ``recommend --explain``."""
        shown = items[items >= 0]
        kind, reasons = explain_items(self.loaded.model, index, shown)
        item_ids = self.loaded.item_ids
        out = []
        for per_item in reasons:
            cited = [{"item_id": item_ids[r.item], "title": self.titles.get(item_ids[r.item]),
                      "verb": self.verbs.get((user, item_ids[r.item]), "engaged with"), "share": r.share}
                     for r in per_item]
            out.append(_sentence(kind, cited, "model"))
        return out

    def _cold(self, user, index: int) -> tuple[list[int], list[float], str]:
        """The cold-start list of ``user``: popular among their segment's people, else overall."""
        segment, peers = self._peers(user)
        blocked = [self.hidden]
        if user in self.purchased:
            blocked.append(self.purchased[user])
        blocked_items = torch.unique(torch.cat(blocked))
        key = (segment, tuple(blocked_items.tolist()))
        if key not in self.cold_lists:
            served = serve(self.loaded.model, index if index >= 0 else None, self.request.k, blocked=blocked_items,
                           diversity=self.request.diversity, peers=peers)
            self.cold_lists[key] = (served.items, served.scores, served.source)
        return self.cold_lists[key]

    def _peers(self, user) -> tuple[tuple[int, int] | None, torch.Tensor | None]:
        """The user's segment in the newest segmentation of the model's dataset that holds them,
        and its people among the model's users (as :func:`kpconsole.services.recommend.segment_peers`)."""
        for record in segment_reads.list_segmentations(self.session, self.loaded.record.dataset):
            segment = segment_store.segment_of_user(self.session.ws, record.id, str(user))
            if segment is None or not record.artifact_path.exists():
                continue
            key = (record.id, segment)
            if key not in self.members:
                members = (pl.scan_parquet(record.artifact_path).filter(pl.col("segment_id") == segment)
                           .select("user_id").collect()["user_id"])
                peers = self.loaded.user_index(members)
                peers = peers[peers >= 0]
                self.members[key] = peers if len(peers) else None
            return key, self.members[key]
        return None, None



def export_recommendations(session: Session, request: RecommendationExport, target: ExportTarget,
                           progress: Progress = no_progress) -> ExportSummary:
    """Top-``k`` lists for many users, as ``recommend`` makes them for one (the same filters,
    cold start and diversity), as rows ``user_id, rank, item_id, score`` (+ ``reason`` with
    ``explain``). Known users are scored in batches on the model's device (one batch's scores
    in memory at a time); the rows stream into the file batch by batch."""
    from kpconsole.services import models

    if request.k < 1:
        raise InvalidExport("k", request.k, "must be at least 1")
    if not 0 <= request.diversity <= 1:
        raise InvalidExport("diversity", request.diversity, "λ must be between 0 and 1")
    loaded = models.load_model(session, request.model_id, request.device)
    ids = read_user_ids(request.users, loaded.user_ids.dtype) if request.users else loaded.user_ids
    plan = RecommendationBatches(session, loaded, request, ids)
    schema = plan.schema()
    return write_export(target, schema, lambda: plan.frames(progress), progress)


def read_user_ids(path: Path, dtype: pl.DataType) -> pl.Series:
    """User IDs from ``path``: a ``.csv``/``.parquet``/``.jsonl`` file's ``user_id`` column (else
    its first), or a text file of one ID per line; cast to the model's ID type."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidExport("users", path, "no such file")
    fmt = FORMATS.get(path.suffix.lower())
    try:
        if fmt == "parquet":
            frame = pl.read_parquet(path)
        elif fmt == "jsonl":
            frame = pl.read_ndjson(path)
        elif fmt == "csv":
            frame = pl.read_csv(path, infer_schema=False)
        else:
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            frame = pl.DataFrame({"user_id": [line for line in lines if line and line != "user_id"]})
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InvalidExport("users", path, f"cannot read it ({str(exc).splitlines()[0]})") from None
    if frame.width == 0 or frame.height == 0:
        raise InvalidExport("users", path, "holds no user IDs")
    column = frame["user_id"] if "user_id" in frame.columns else frame[frame.columns[0]]
    cast = column.cast(pl.String).cast(dtype, strict=False)
    bad = cast.is_null() & column.is_not_null()
    if bad.any():
        row = int(bad.arg_true()[0])
        raise InvalidExport("users", path, f"row {row + 1}: {column[row]!r} is not a user ID of the model's type "
                                           f"({dtype})")
    return cast.drop_nulls().alias("user_id")
