"""4 Recommend: look a user up (their IDs complete as you type), see their top K with the reason
for each item, trade relevance for diversity (MMR λ) with one key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Select, Static

from kpconsole.errors import ConsoleError
from kpconsole.reads import models as model_reads
from kpconsole.services import datasets
from kpconsole.services.recommend import Recommendations, recommend
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.tables import set_columns, sync_rows
from kpconsole.tui.widgets.prefix_suggester import PrefixSuggester

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.models import ModelRecord

COLUMNS = ("#", "item", "title", "kind", "score", "why")
LAMBDAS = (0.0, 0.3, 0.7)
MAX_COMPLETION_IDS = 2_000_000


@dataclass
class ModelsListed(Message):
    models: list[ModelRecord]


@dataclass
class UserIdsLoaded(Message):
    model_id: int
    ids: list[str]


@dataclass
class Served(Message):
    result: Recommendations


def user_ids(session, record: ModelRecord) -> list[str]:
    """The user IDs of the model's dataset, as text, for completion (none if it was deleted)."""
    try:
        dataset = datasets.get(session, record.dataset)
    except Exception:  # the dataset was deleted: the model still serves, only completion is gone
        return []
    frame = datasets.load(dataset, "users").select("user_id").head(MAX_COMPLETION_IDS).collect()
    return frame["user_id"].cast(str).to_list()


class RecommendScreen(ConsoleScreen):
    """Recommend"""

    MODE = "recommend"
    TITLE = "Recommend"
    CSS_PATH = "recommend.tcss"
    BINDINGS = [
        Binding("slash", "lookup", "User", tooltip="Look up: user", id="recommend.lookup"),
        Binding("l", "diversity", "Diversity λ", tooltip="Toggle: diversity λ 0 / 0.3 / 0.7", id="recommend.diversity"),
        Binding("p", "purchased", "Hide bought", tooltip="Toggle: hide what the user bought", id="recommend.purchased"),
        Binding("plus", "more", "K+5", tooltip="More: items (K + 5)", id="recommend.more"),
        Binding("minus", "fewer", "K−5", tooltip="Fewer: items (K − 5)", id="recommend.fewer"),
        Binding("o", "export", "Export", tooltip="Export: every user's list from this model to a file…",
                id="recommend.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[int, ModelRecord] = {}
        self.k = 10
        self.diversity = 0.0
        self.exclude_purchased = False
        self.suggester = PrefixSuggester()

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="recommend-query"):
            yield Select([], prompt="model", id="recommend-model", compact=True)
            yield Input(placeholder="user ID (→ completes) then enter", id="recommend-user", compact=True,
                        suggester=self.suggester)
        yield Label(id="recommend-settings")
        yield Static(id="recommend-summary")
        yield DataTable(id="recommend-items", cursor_type="row")

    def on_mount(self) -> None:
        set_columns(self.query_one("#recommend-items", DataTable), COLUMNS)
        self.show_settings()
        self.query_one("#recommend-items", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.in_thread(lambda: self.post_message(ModelsListed(model_reads.list_models(self.session))), group="models")

    def on_models_listed(self, message: ModelsListed) -> None:
        self.records = {r.id: r for r in message.models}
        select = self.query_one("#recommend-model", Select)
        current = select.value
        select.set_options([(f"#{r.id} {r.algo} on {r.dataset}", r.id) for r in message.models])
        if current in self.records:
            select.value = current
        elif message.models:
            select.value = message.models[0].id

    def on_select_changed(self, event: Select.Changed) -> None:
        record = self.records.get(event.value) if isinstance(event.value, int) else None
        if record is not None:
            self.in_thread(lambda: self.post_message(UserIdsLoaded(record.id, user_ids(self.session, record))),
                           group="user-ids")

    def on_user_ids_loaded(self, message: UserIdsLoaded) -> None:
        if message.model_id == self.model_id:
            self.suggester.replace(message.ids)

    @property
    def model_id(self) -> int | None:
        value = self.query_one("#recommend-model", Select).value
        return value if isinstance(value, int) else None

    # --- asking ---------------------------------------------------------------------------

    def show_settings(self) -> None:
        self.query_one("#recommend-settings", Label).update(
            f"K {self.k} · diversity λ {self.diversity:g} (l) · "
            f"{'hiding' if self.exclude_purchased else 'showing'} what the user bought (p) · / user"
        )

    def ask(self) -> None:
        user = self.query_one("#recommend-user", Input).value.strip()
        if not user:
            return
        if self.model_id is None:
            self.app.report_failure(ConsoleError("recommend: no model (train one on the Models screen: 3, t)"),
                                    "recommend")
            return
        model_id, k, diversity, hide = self.model_id, self.k, self.diversity, self.exclude_purchased
        self.in_thread(lambda: self.post_message(Served(recommend(
            self.session, model_id, user, k, explain=True, diversity=diversity, exclude_purchased=hide))),
            group="recommend")

    def on_input_submitted(self) -> None:
        self.ask()
        self.query_one("#recommend-items", DataTable).focus()

    def on_served(self, message: Served) -> None:
        result = message.result
        who = "known user" if result.known else "not in the model's data"
        self.query_one("#recommend-summary", Static).update(
            f"user {result.user} ({who}) · model #{result.model_id} · {result.source}"
        )
        rows = [(f"{row['rank']}", (str(row["rank"]), str(row["item_id"]), row.get("title") or "–",
                                    row.get("kind") or "–", f"{row['score']:.4g}", row.get("because") or ""))
                for row in result.items]
        sync_rows(self.query_one("#recommend-items", DataTable), rows)

    def action_export(self) -> None:
        """Every user's list with the K, diversity and hiding of what they bought set here (no reasons: a
        reason per row costs more than the list; the CLI's --explain adds them)."""
        if self.model_id is None:
            self.notify("no model to export from: train one on the Models screen (3, t)", severity="warning")
            return
        from kpconsole.services import recommend_batches

        request = recommend_batches.RecommendationExport(model_id=self.model_id, k=self.k,
                                                         diversity=self.diversity,
                                                         exclude_purchased=self.exclude_purchased)
        self.offer_export(f"model {self.model_id}'s lists (K {self.k})", lambda target, progress:
                          recommend_batches.export_recommendations(self.session, request, target, progress),
                          f"recommendations-{self.model_id}.parquet")

    def action_lookup(self) -> None:
        self.query_one("#recommend-user", Input).focus()

    def _again(self) -> None:
        self.show_settings()
        self.ask()

    def action_diversity(self) -> None:
        self.diversity = LAMBDAS[(LAMBDAS.index(self.diversity) + 1) % len(LAMBDAS)]
        self._again()

    def action_purchased(self) -> None:
        self.exclude_purchased = not self.exclude_purchased
        self._again()

    def action_more(self) -> None:
        self.k += 5
        self._again()

    def action_fewer(self) -> None:
        self.k = max(5, self.k - 5)
        self._again()
