"""``kpconsole recommend USER``: a top-K list for one person, with reasons in their own terms.

Explanations name the user's own interactions ("because you answered “Can a Turing machine
simulate a quantum computer?”"), read from the model's dataset (titles and the kind of each
interaction); if that dataset has since been deleted, items are named by ID.

Cold start, never an error: an ID the model does not know, or a user with no training
interactions, gets the items most users interacted with — among the people of the user's
segment when a segmentation holds the user (see :func:`segment_peers`), else overall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
import torch

from engine.recommend.explain import EXACT, SIMILAR, TAGS
from engine.recommend.serving import serve
from kpconsole.reads import segments as segment_reads
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.services import datasets, models
from kpconsole.services.models import LoadedModel
from kpconsole.session import Session
from store import segments as segment_store
from store.errors import NotFound

#: The verb for "because you … X", strongest interaction first.
VERBS = {
    "purchase": "bought", "subscribe": "subscribed to", "answer": "answered", "ask": "asked", "comment": "commented on",
    "favorite": "saved", "star": "starred", "like": "liked", "enroll": "enrolled in", "view": "viewed",
}


@dataclass
class Recommendations:
    model_id: int
    user: str
    known: bool
    source: str
    explanation: str | None
    items: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def recommend(
    session: Session,
    model_id: int,
    user: str,
    k: int = 10,
    *,
    explain: bool = False,
    diversity: float = 0.0,
    exclude_purchased: bool = False,
    hide: list[str] | None = None,
    device: str = "auto",
) -> Recommendations:
    """The top-``k`` list for ``user`` from model ``model_id`` (see the module docstring)."""
    if k < 1:
        raise ConsoleError(f"k must be at least 1 (got {k})")
    if not 0 <= diversity <= 1:
        raise InvalidField(f"{{diversity}} {diversity}: λ must be between 0 and 1", "diversity")
    loaded = models.load_model(session, model_id, device)
    index = int(loaded.user_index([user])[0])
    has_history = index >= 0 and len(loaded.train.row_items(index)) > 0
    facts = _DatasetFacts(session, loaded, user)
    blocked = []
    if hide:
        unknown = [h for h in hide if int(loaded.item_index([h])[0]) < 0]
        if unknown:
            raise InvalidField(f"{{hide}}: item {unknown[0]} is not among model {model_id}'s items", "hide")
        blocked.append(loaded.item_index(hide))
    if exclude_purchased:
        blocked.append(loaded.item_index(facts.purchased))
    blocked_items = torch.cat(blocked) if blocked else torch.zeros(0, dtype=torch.int64)
    peers = None if has_history else segment_peers(session, loaded, user)
    served = serve(loaded.model, index if index >= 0 else None, k, blocked=blocked_items[blocked_items >= 0],
                   diversity=diversity, with_reasons=explain, peers=peers)
    out = Recommendations(model_id, user, index >= 0, served.source, served.explanation if explain else None)
    item_ids = loaded.item_ids
    for rank, (item, score) in enumerate(zip(served.items, served.scores, strict=True), start=1):
        row = {"rank": rank, "item_id": item_ids[item], "title": facts.title(item_ids[item]),
               "kind": facts.kind(item_ids[item]), "score": score}
        if explain:
            reasons = served.reasons[rank - 1] if served.reasons else []
            if served.explanation == TAGS:
                row["reasons"] = [_tag_reason(r, item_ids, facts) for r in reasons]
            else:
                row["reasons"] = [{"item_id": item_ids[r.item], "title": facts.title(item_ids[r.item]),
                                   "verb": facts.verb(item_ids[r.item]), "share": r.share} for r in reasons]
            row["because"] = _sentence(served.explanation, row["reasons"], served.source)
        out.items.append(row)
    return out


def _tag_reason(reason, item_ids: pl.Series, facts: _DatasetFacts) -> dict:
    """A tag behind a hybrid recommendation: the tag, its share of the score, and the first of
    the user's items that carry it (its title and what the user did to it)."""
    via = item_ids[reason.via[0]] if reason.via else None
    return {"tag": reason.name, "share": reason.share, "item_id": via,
            "title": facts.title(via) if via is not None else None,
            "verb": facts.verb(via) if via is not None else "engaged with",
            "noun": _plural(facts.kind(via)) if via is not None else "items",
            "via": [item_ids[i] for i in reason.via]}


def _plural(kind: str | None) -> str:
    if not kind:
        return "items"
    return kind + ("es" if kind.endswith(("s", "x", "ch", "sh")) else "s")


#: Why a personal model recommended an item that none of the user's own interactions explains
#: (a factor model's collaborative part: the user's vector, not one item or tag of theirs).
NO_PERSONAL_REASON = "users with a history like yours engaged with it"


def _sentence(kind: str | None, reasons: list[dict], source: str) -> str:
    if not reasons:
        return NO_PERSONAL_REASON if source == "model" else source
    first = reasons[0]
    if kind == TAGS:
        return f"because you {first['verb']} {first['noun']} tagged {', '.join(r['tag'] for r in reasons)}"
    named = f"“{first['title']}”" if first["title"] else f"item {first['item_id']}"
    if kind == EXACT:
        return f"because you {first['verb']} {named}"
    if kind == SIMILAR:
        return f"similar to {named}, which you {first['verb']}"
    return source


class _DatasetFacts:
    """Titles and kinds of items, and what the user did to each, from the model's dataset."""

    def __init__(self, session: Session, loaded: LoadedModel, user: str) -> None:
        self.titles: dict = {}
        self.kinds: dict = {}
        self.verbs: dict = {}
        self.purchased: list = []
        try:
            record = datasets.get(session, loaded.record.dataset)
        except NotFound:
            return
        if "items" in record.tables:
            items = datasets.load(record, "items")
            cols = [c for c in ("item_id", "title", "kind") if c in items.collect_schema().names()]
            table = items.select(cols).collect()
            if "title" in cols:
                self.titles = dict(zip(table["item_id"].to_list(), table["title"].to_list(), strict=True))
            if "kind" in cols:
                self.kinds = dict(zip(table["item_id"].to_list(), table["kind"].to_list(), strict=True))
        events = datasets.load(record, "events")
        user_value = pl.Series([user]).cast(events.collect_schema()["user_id"], strict=False)[0]
        if user_value is None:
            return
        mine = events.filter(pl.col("user_id") == user_value).select("item_id", "kind").unique().collect()
        order = {kind: rank for rank, kind in enumerate(VERBS)}
        strongest = (mine.with_columns(pl.col("kind").replace_strict(order, default=len(order)).alias("rank"))
                     .sort("rank").unique("item_id", keep="first"))
        self.verbs = {item: VERBS.get(kind, kind) for item, kind in zip(strongest["item_id"].to_list(),
                                                                          strongest["kind"].to_list(), strict=True)}
        self.purchased = mine.filter(pl.col("kind") == "purchase")["item_id"].unique().to_list()

    def title(self, item_id) -> str | None:
        return self.titles.get(item_id)

    def kind(self, item_id) -> str | None:
        return self.kinds.get(item_id)

    def verb(self, item_id) -> str:
        return self.verbs.get(item_id, "engaged with")


def segment_peers(session: Session, loaded: LoadedModel, user: str) -> torch.Tensor | None:
    """Indices of the model's users in ``user``'s segment, from the newest segmentation of the
    model's dataset that assigns the user; None when there is none (then: popular overall)."""
    for record in segment_reads.list_segmentations(session, loaded.record.dataset):
        segment = segment_store.segment_of_user(session.ws, record.id, str(user))
        if segment is None or not record.artifact_path.exists():
            continue
        members = (pl.scan_parquet(record.artifact_path).filter(pl.col("segment_id") == segment)
                   .select("user_id").collect()["user_id"])
        peers = loaded.user_index(members)
        peers = peers[peers >= 0]
        return peers if len(peers) else None
    return None
