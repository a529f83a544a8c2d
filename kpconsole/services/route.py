"""Question routing in the console: who should see a question so that it gets a good answer.

:func:`suggest` ranks the users most likely to answer a question of a Q&A dataset (a Stack
Exchange dump) — one already in the data, by id, or a new one from its title, tags and body —
with why (shared tags, recent answers, acceptance rate) and whether each is still active.
:func:`unanswered` lists the newest questions nobody has answered yet, each with its suggested
answerers, by the learned router or one of its baselines (the Community screen shows it).
:func:`evaluate` runs the temporal protocol of :mod:`engine.community.route_eval` at a cut.

The router is fitted on the fly, not registered as a model: its weights are a dozen numbers
that take well under a second to fit on quantumcomputing, while the user profiles it scores
must be built from the dataset on every call anyway. The fitted weights are kept next to the
dataset's tables (``router.json``, a derived figure like ``top_items.json``: a dataset's folder
never changes, so it is never stale) and refitted only when the fitting parameters change.
The router ships without the hybrid recommender's feature (:data:`HYBRID_NOTE`), so no hybrid
is fitted here. Both are reads: every role may run them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kpconsole.errors import InvalidField
from kpconsole.services import datasets
from kpconsole.session import Session
from store import catalog
from store.catalog import DatasetRecord

if TYPE_CHECKING:
    from engine.community.route import RouterModel, Suggestion
    from engine.community.route_eval import RoutingEvaluation
    from engine.community.route_features import QAPosts

#: How the kept router is fitted (the engine's defaults, spelled out so a change refits it).
FIT = {"windows": 6, "negatives": 200, "loss": "pairwise", "l2": 1.0, "featured_at": "window", "seed": 0}
KEPT = "router"
HYBRID_NOTE = ("the hybrid recommender's score is a named variant of the router (features=WITH_HYBRID), off: "
               "it lowered MRR on bicycles.meta (docs/community.md)")


class RouteInputError(InvalidField):
    """A bad routing request, naming the field (``cut``, ``question``, ``data``, ``k``, ``tags``)
    and the reason; the CLI words the field as its flag, the console as its form field."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{{{field}}}: {reason}", field)


def is_qa_dump(record: DatasetRecord) -> bool:
    """Whether a dataset holds questions and their answers to route (a Stack Exchange dump)."""
    return "items" in record.tables and "parent_id" in record.schema.get("items", {})


def _qa_record(session: Session, data: str) -> DatasetRecord:
    record = datasets.get(session, data)
    if not is_qa_dump(record):
        raise RouteInputError("data", f"dataset '{record.name}' is not a Q&A dump (it has no questions and answers "
                                      "to route: ingest a Stack Exchange dump)")
    return record


def load_posts(record: DatasetRecord) -> QAPosts:
    """The dataset's questions, answers and activity (with post bodies where it kept them)."""
    from engine.community.route_features import qa_posts
    from engine.errors import EngineError

    texts = datasets.load(record, "post_texts") if "post_texts" in record.tables else None
    try:
        return qa_posts(datasets.load(record, "items"), datasets.load(record, "events"), texts)
    except EngineError as exc:
        raise RouteInputError("data", f"dataset '{record.name}': {exc}") from None


def fitted_router(record: DatasetRecord, posts: QAPosts) -> RouterModel:
    """The router fitted on the whole dataset: the kept one when its parameters match, else fit and keep it."""
    from engine.community.route import RouterModel, fit_router
    from engine.errors import EngineError

    kept = catalog.read_derived(record, KEPT)
    if kept and kept.get("fit") == FIT:
        try:
            return RouterModel.from_dict(kept["model"])
        except (EngineError, KeyError, TypeError, ValueError):
            pass
    try:
        model = fit_router(posts, **FIT)
    except EngineError as exc:
        raise RouteInputError("data", f"dataset '{record.name}': {exc}") from None
    catalog.keep_derived(record, KEPT, {"fit": FIT, "model": model.as_dict()})
    return model


@dataclass(frozen=True)
class RouteResult:
    """Suggested answerers of one question, best first."""

    dataset: str
    question_id: int | None  # None for a new question
    title: str | None
    tags: list[str]
    at: dt.datetime  # the moment routed at: the question's posting, or just after the data's last post
    suggestions: list[Suggestion]
    answered_by: list[int] = field(default_factory=list)  # who really answered, for a question in the data
    weights: dict[str, float] = field(default_factory=dict)
    text: str = "titles, tags and bodies"

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "question_id": self.question_id, "title": self.title, "tags": self.tags,
                "at": self.at.isoformat(), "text": self.text, "hybrid": HYBRID_NOTE,
                "suggestions": [s.as_dict() for s in self.suggestions], "answered_by": self.answered_by,
                "weights": self.weights}


def suggest(session: Session, data: str, question_id: int | None = None, *, title: str | None = None,
            tags: list[str] | None = None, body: str | None = None, k: int = 10) -> RouteResult:
    """The ``k`` users most likely to answer question ``question_id`` of dataset ``data``, or of
    a new question with ``title``, ``tags`` and ``body`` (HTML or plain text)."""
    if k < 1:
        raise RouteInputError("k", f"{k} is not a positive number of users")
    if question_id is None and not (title or tags or body):
        raise RouteInputError("question", "give a question id, or a new question's title, tags or body")
    if question_id is not None and (title or tags or body):
        raise RouteInputError("question", "give a question id or a new question's title, tags and body, not both")
    import polars as pl

    from engine.community.route import route
    from engine.community.route_features import profiles_at
    from engine.community.route_text import strip_html, tokenize

    record = _qa_record(session, data)
    posts = load_posts(record)
    model = fitted_router(record, posts)
    end = posts.span[1] + dt.timedelta(microseconds=1)
    if question_id is not None:
        found = posts.questions.filter(pl.col("question_id") == question_id)
        if found.height == 0:
            raise RouteInputError("question", f"no question {question_id} in dataset '{record.name}'")
        row = found.row(0, named=True)
        at, q_tags, tokens, asker = row["created_at"], list(row["tags"]), list(row["tokens"]), row["user_id"]
        q_title = _title(record, question_id)
        answered_by = sorted(set(posts.answers.filter(pl.col("question_id") == question_id)["user_id"]
                                 .drop_nulls().to_list()))
    else:
        q_tags = [t.strip() for t in (tags or []) if t.strip()]
        tokens = tokenize(title) + q_tags + tokenize(strip_html(body))
        at, asker, q_title, answered_by = end, None, title, []
    profiles = profiles_at(posts, at)
    if len(profiles.users) == 0:
        raise RouteInputError("question", f"nobody was active in '{record.name}' before {at:%Y-%m-%d}: nobody to suggest")
    now = profiles_at(posts, end) if at < end else profiles
    last_seen = now.days_since_active[now.index_of(profiles.users)]
    suggestions = route(model, profiles, q_tags, tokens, asker=asker, k=k, days_since_active=last_seen)
    return RouteResult(record.name, question_id, q_title, q_tags, at, suggestions, answered_by,
                       dict(zip(model.features, np.round(model.weights, 4).tolist(), strict=True)),
                       "titles, tags and bodies" if posts.has_bodies else "titles and tags (the dump has no bodies)")


def _titles(record: DatasetRecord, question_ids: list[int]) -> dict[int, str]:
    """The titles of these questions (none when the dataset keeps no titles)."""
    import polars as pl

    if "title" not in record.schema.get("items", {}) or not question_ids:
        return {}
    rows = (datasets.load(record, "items").filter(pl.col("item_id").is_in(question_ids))
            .select("item_id", "title").collect())
    return {int(i): t for i, t in rows.iter_rows() if t is not None}


def _title(record: DatasetRecord, question_id: int) -> str | None:
    return _titles(record, [question_id]).get(question_id)


@dataclass(frozen=True)
class OpenQuestion:
    """A question nobody has answered yet, and who should see it."""

    question_id: int
    title: str | None
    tags: list[str]
    asked_at: dt.datetime
    suggestions: list[Suggestion]

    def as_dict(self) -> dict:
        return {"question_id": self.question_id, "title": self.title, "tags": self.tags,
                "asked_at": self.asked_at.isoformat(), "suggestions": [s.as_dict() for s in self.suggestions]}


@dataclass(frozen=True)
class UnansweredReport:
    """The newest unanswered questions of a dataset (``total`` of them in all), routed ``at`` the
    data's end by router ``by``."""

    dataset: str
    by: str
    at: dt.datetime
    total: int
    questions: list[OpenQuestion]
    text: str

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "by": self.by, "at": self.at.isoformat(), "total": self.total,
                "text": self.text, "questions": [q.as_dict() for q in self.questions]}


def answerer_words(suggestion: Suggestion) -> str:
    """One suggested answerer in a few words: ``1837 (quantum-gate 33, 27 in 30 d)`` — two of
    the tags they share with the question (their answers in each), their recent answers, and
    ``inactive`` when they have not been seen for a while."""
    why = [f"{tag} {n}" for tag, n in list(suggestion.shared_tags.items())[:2]]
    if suggestion.recent_answers:
        why.append(f"{suggestion.recent_answers} in 30 d")
    if not suggestion.active:
        why.append("inactive")
    return f"{suggestion.user_id}" + (f" ({', '.join(why)})" if why else "")


def unanswered(session: Session, data: str, *, limit: int | None = 10, k: int = 3, by: str = "router") -> UnansweredReport:
    """The ``limit`` newest questions of ``data`` without an answer (``None``: all), each with the ``k`` users
    most likely to answer it now (profiled over the whole dataset, the asker not counted), ranked
    by ``by`` (:data:`engine.community.route.ROUTERS`: the learned router, then its baselines)."""
    if limit is not None and limit < 1:
        raise RouteInputError("limit", f"{limit} is not a positive number of questions")
    if k < 1:
        raise RouteInputError("k", f"{k} is not a positive number of users")
    from engine.community.route import ROUTERS, route_many
    from engine.community.route_features import profiles_at

    if by not in ROUTERS:
        raise RouteInputError("by", f"{by!r} is not a router (one of {', '.join(ROUTERS)})")

    record = _qa_record(session, data)
    posts = load_posts(record)
    model = fitted_router(record, posts)
    end = posts.span[1] + dt.timedelta(microseconds=1)
    open_questions = (posts.questions.join(posts.answers.select("question_id").unique(), on="question_id", how="anti")
                      .sort("created_at", "question_id", descending=True))
    newest = open_questions.head(limit) if limit is not None else open_questions
    profiles = profiles_at(posts, end)
    ranked = route_many(model, profiles, [list(t) for t in newest["tags"].to_list()],
                        [list(t) for t in newest["tokens"].to_list()], newest["user_id"].to_list(), k=k, by=by)
    titles = _titles(record, newest["question_id"].to_list())
    questions = [OpenQuestion(int(q["question_id"]), titles.get(int(q["question_id"])), list(q["tags"]),
                              q["created_at"], suggestions)
                 for q, suggestions in zip(newest.iter_rows(named=True), ranked, strict=True)]
    return UnansweredReport(record.name, by, end, open_questions.height, questions,
                            "titles, tags and bodies" if posts.has_bodies else "titles and tags (the dump has no bodies)")


def parse_cut(text: str, posts: QAPosts) -> dt.datetime:
    """A cut given as a ratio of the timeline (``0.67``) or a date (``2018-07-01``, ``2018-07-01T12:00``)."""
    from engine.community.route_eval import cut_at

    first, last = posts.span
    try:
        ratio = float(text)
    except ValueError:
        ratio = None
    if ratio is not None:
        if not 0.0 < ratio < 1.0:
            raise RouteInputError("cut", f"{text} is not a ratio strictly between 0 and 1")
        return cut_at(posts, ratio)
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise RouteInputError("cut", f"{text!r} is neither a ratio in (0, 1) nor a date (YYYY-MM-DD)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if not first < moment <= last:
        raise RouteInputError("cut", f"{moment:%Y-%m-%d} is outside the dataset's posts "
                                     f"({first:%Y-%m-%d} .. {last:%Y-%m-%d})")
    return moment


@dataclass(frozen=True)
class RouteEvaluationReport:
    dataset: str
    evaluation: RoutingEvaluation
    text: str

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "text": self.text, "hybrid": HYBRID_NOTE, **self.evaluation.as_dict()}


def evaluate(session: Session, data: str, cut: str, *, bootstrap: int = 2000, seed: int = 0,
             profiles: str = "question", candidates: str = "cut") -> RouteEvaluationReport:
    """Train on everything before ``cut`` and test on the answered questions after it (see
    :mod:`engine.community.route_eval`), with the MostPop, RecentPop, TagPop and BM25 baselines;
    each test question featured from the history before its own posting (``profiles``
    ``"question"``, as ``route`` does), before its day (``"day"``) or before the cut (``"cut"``),
    ranking every user active before the cut (``candidates`` ``"cut"``) or before the question."""
    from engine.community.route_eval import CANDIDATES, PROFILES, evaluate_routing
    from engine.errors import EngineError

    if bootstrap < 1:
        raise RouteInputError("bootstrap", f"{bootstrap} is not a positive number of resamples")
    if profiles not in PROFILES:
        raise RouteInputError("profiles", f"{profiles!r} is not a way to profile (one of {', '.join(PROFILES)})")
    if candidates not in CANDIDATES:
        raise RouteInputError("candidates", f"{candidates!r} is not a candidate set (one of {', '.join(CANDIDATES)})")
    record = _qa_record(session, data)
    posts = load_posts(record)
    moment = parse_cut(cut, posts)
    params = {k: v for k, v in FIT.items() if k != "seed"}
    try:
        result = evaluate_routing(posts, moment, seed=seed, bootstrap=bootstrap, profiles=profiles,
                                  candidates=candidates, **params)
    except EngineError as exc:
        raise RouteInputError("cut", f"{cut}: {exc}") from None
    return RouteEvaluationReport(record.name, result,
                                 "titles, tags and bodies" if posts.has_bodies else "titles and tags (no bodies)")
