"""``kpconsole model …``: train, list, show, evaluate, compare and update recommenders."""

from __future__ import annotations

from typing import Annotated

import typer

from kpconsole.cli import common, completion
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import ConsoleError
from kpconsole.reads import models as model_reads

model_evaluation = common.lazy_import("kpconsole.services.model_evaluation")
models = common.lazy_import("kpconsole.services.models")
requests = common.lazy_import("kpconsole.services.model_requests")

app = typer.Typer(help=GROUPS["model"].help, no_args_is_help=True)

# the CLI names the algorithms without importing the engine (torch); a test keeps it equal to
# engine.recommend.algorithms.ALGORITHMS
ALGORITHM_NAMES = ("pop", "timepop", "itemknn", "ease", "als", "bpr", "ncf", "hybrid")
ALGOS = ", ".join(ALGORITHM_NAMES[:-1]) + " or " + ALGORITHM_NAMES[-1]


@app.command("train")
def train(
    data: Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Dataset to learn from.")],
    algo: Annotated[str, typer.Option("--algo", "-a", help=f"Algorithm: {ALGOS}.")],
    factors: Annotated[int | None, typer.Option("--factors", help="Latent factors (als, bpr, ncf).")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Training epochs / ALS sweeps (als, bpr, ncf).")] = None,
    reg: Annotated[float | None, typer.Option("--reg", help="Regularisation (als λ, bpr/ncf L2, ease λ).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (bpr, ncf).")] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", help="iALS confidence: c = 1 + alpha·r (als).")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="Any other hyper-parameter as NAME=VALUE, e.g. neighbors=50, cg_steps=4, layers=64-32-16. "
                        "Repeatable.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto (cuda, then mps, then cpu), cpu, cuda or cuda:N.")] = "auto",
    split: Annotated[str, typer.Option("--split", help="random (per user), temporal, loo (leave last out) or cold-items (new items held out whole).")] = "random",
    test_ratio: Annotated[float, typer.Option("--test-ratio", help="Share of pairs held out for testing.")] = 0.2,
    cut: Annotated[str | None, typer.Option("--cut", help="Temporal or cold-items split at this date (ISO) instead of a ratio.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and the model: same seed, same model.")] = 42,
    events: Annotated[list[str] | None, typer.Option(
        "--events", help="Interaction event kinds, space- or comma-separated (e.g. --events answer comment favorite) "
                         "[default: answer, comment, favorite for Stack Exchange; view, like, star, favorite, comment, "
                         "purchase, answer otherwise].")] = None,
    weight: Annotated[list[str] | None, typer.Option(
        "--weight", help="Per-kind weight KIND=W (e.g. --weight purchase=5); iALS confidence uses it. Repeatable.")] = None,
    k: Annotated[list[str] | None, typer.Option(
        "--k", help="Cut-offs to evaluate at after training, space- or comma-separated [default: 10 20].")] = None,
    patience: Annotated[int, typer.Option(
        "--patience", help="Stop after this many epochs without a better validation NDCG@10 (10% of training "
                           "pairs held out); 0: off.")] = 0,
    distributed: Annotated[int, typer.Option(
        "--distributed", help="Train bpr/ncf with DDP on N local processes (gloo on CPU, NCCL on GPUs); 0: off.")] = 0,
    detach: Annotated[bool, typer.Option("--detach", help="Run as a background job and print its id.")] = False,
    more: Annotated[list[str] | None, typer.Argument(
        hidden=True, help="Further values of --events (of --weight when NAME=VALUE, of --k when a number).")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Train a recommender on a dataset, evaluate it on a held-out split, and register it."""
    extra_ks = [m for m in more or [] if m.isdigit()] if k is not None else []
    extra_weights = [m for m in more or [] if "=" in m]
    extra_events = [m for m in more or [] if "=" not in m and m not in extra_ks]
    if extra_events and events is None:
        raise ConsoleError(f"unexpected argument {extra_events[0]!r} (event kinds go after --events)")
    params = {name: value for name, value in (("factors", factors), ("epochs", epochs), ("reg", reg), ("lr", lr),
                                              ("alpha", alpha)) if value is not None}
    params.update(requests.parse_pairs(param or [], "--param", "neighbors=50"))
    request = requests.TrainRequest(
        data=data, algo=algo, params=params, device=device, split=split, test_ratio=test_ratio, cut=cut, seed=seed,
        events=requests.split_words((events or []) + extra_events), weights=requests.parse_weights((weight or []) + extra_weights),
        ks=tuple(_ints((k or []) + extra_ks, "--k")) or (10, 20), patience=patience, distributed=distributed,
    )
    session = common.session(workspace)
    if detach:
        job_id = models.start_training(session, request)
        common.emit({"job_id": job_id}, as_json, lambda: common.note(
            f"training as job {job_id}: kpconsole jobs show {job_id}  (logs: kpconsole jobs logs {job_id} --follow)"))
        return
    with common.progress_bar(f"train {algo} on {data}") as progress:
        record = models.train(session, request, progress)
    if record is None:  # a torchrun rank other than 0: rank 0 reports
        return
    common.emit(record, as_json, lambda: _print_trained(record))


@app.command("list")
def list_(
    data: Annotated[str | None, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Only models of this dataset.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Registered models, newest first, with their headline metrics."""
    session = common.session(workspace)
    records = model_reads.list_models(session, data)
    fresh = model_reads.freshness(session, records)
    rows = [(r.id, r.algo, r.dataset, r.split.get("method"), r.metrics.get("ndcg@10"), r.metrics.get("recall@10"),
             r.fit_seconds, r.parent_id, r.created_at[5:16].replace("T", " ")) for r in records]
    columns = ["id", "algo", "data", "split", "ndcg@10", "rec@10", "fit s", "parent", "created"]
    if any(fresh[r.id].note for r in records):  # a column only when a model is stale or its data is gone
        columns.append("data now")
        rows = [(*row, fresh[r.id].note or "✓ current") for row, r in zip(rows, records, strict=True)]
    listed = [{**r.as_dict(), "freshness": fresh[r.id].as_dict()} for r in records]
    common.emit(listed, as_json, lambda: common.stdout.print(
        common.table(None, columns, rows, right=["id", "ndcg@10", "rec@10", "fit s", "parent"],
                     wrap=["data now"], drop=["created", "split"])
        if rows else "no models yet: kpconsole model train --data NAME --algo als"))


@app.command("show")
def show(
    model_id: Annotated[int, typer.Argument(autocompletion=completion.models, help="Model id (see: kpconsole model list).")],
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Everything the registry holds about a model: parameters, split, metrics, training history, drift."""
    record = model_reads.get(common.session(workspace), model_id)
    common.emit(record, as_json, lambda: _print_record(record))


@app.command("evaluate")
def evaluate(
    model_id: Annotated[int, typer.Argument(autocompletion=completion.models, help="Model id.")],
    k: Annotated[list[str] | None, typer.Option("--k", help="Cut-offs, space- or comma-separated: --k 10 20 50.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Evaluate this one user only.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    more: Annotated[list[str] | None, typer.Argument(hidden=True, help="Further cut-offs after --k.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Full-ranking metrics at each k on the model's test split (training items excluded)."""
    if more and k is None:
        raise ConsoleError(f"unexpected argument {more[0]!r} (cut-offs go after --k)")
    ks = _ints((k or []) + (more or []), "--k") or [10]
    result = model_evaluation.evaluate(common.session(workspace), model_id, ks, user=user, device=device)
    common.emit(result, as_json, lambda: _print_evaluation(result))


@app.command("compare")
def compare(
    model_ids: Annotated[list[int], typer.Argument(autocompletion=completion.models, help="Model ids to put side by side.")],
    k: Annotated[int, typer.Option("--k", help="Cut-off.")] = 10,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Models side by side at one k (computed now where the registry lacks that k)."""
    session = common.session(workspace)
    result = model_reads.compare(  # loads a model (torch) only for a k it was not evaluated at
        session, model_ids, k, compute=lambda model_id, at: model_evaluation.metrics_at(session, device)(model_id, at))
    common.emit(result, as_json, lambda: print_comparison(result))


@app.command("update")
def update(
    model_id: Annotated[int, typer.Argument(autocompletion=completion.models, help="The model to update (the parent).")],
    data: Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Dataset with the new events (usually the old ones too).")],
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs from the warm start (default: a third of the "
                                                                "parent's for als and ncf, all of them for bpr).")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    detach: Annotated[bool, typer.Option("--detach", help="Run as a background job and print its id.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Fold new events into a model (warm start), register the result, and report drift."""
    request = requests.UpdateRequest(model_id=model_id, data=data, epochs=epochs, device=device)
    session = common.session(workspace)
    if detach:
        job_id = models.start_update(session, request)
        common.emit({"job_id": job_id}, as_json, lambda: common.note(f"updating as job {job_id}: kpconsole jobs show {job_id}"))
        return
    with common.progress_bar(f"update model {model_id}") as progress:
        record = models.update(session, request, progress)
    common.emit(record, as_json, lambda: (_print_trained(record), _print_drift(record.drift or {})))


# --- rendering ----------------------------------------------------------------------------


def _ints(values: list[str], option: str) -> list[int]:
    out = []
    for value in values:
        for part in (p for p in str(value).split(",") if p.strip()):
            try:
                out.append(int(part))
            except ValueError:
                raise ConsoleError(f"{option} {part!r}: not a whole number") from None
    return out


def _headline(metrics: dict) -> str:
    keys = [k for k in ("ndcg@10", "recall@10", "hr@10", "coverage@10") if k in metrics]
    return "  ".join(f"{k} {metrics[k]:.4f}" for k in keys)


def _print_trained(record) -> None:
    common.note(f"model {record.id}: {record.algo} on '{record.dataset}' ({record.n_users:,} users × "
                f"{record.n_items:,} items, {record.n_train:,} training pairs) in {record.fit_seconds:.1f} s on "
                f"{record.device}")
    common.note(f"  {_headline(record.metrics)}  ({record.split.get('test_users', 0):,} test users)")


def _print_record(record) -> None:
    split = record.split
    common.stdout.print(common.kv(f"model {record.id}", {
        "algorithm": record.algo, "dataset": f"{record.dataset} (hash {record.dataset_hash[:12]})",
        "interactions": ", ".join(f"{k}×{record.interactions['weights'].get(k, 1):g}"
                                  for k in record.interactions["kinds"]),
        "parameters": ", ".join(f"{k}={v}" for k, v in record.params.items()) or "–",
        "split": ", ".join(f"{k}={v}" for k, v in split.items()),
        "size": f"{record.n_users:,} users × {record.n_items:,} items, {record.n_train:,} training pairs",
        "training": f"{record.fit_seconds:.2f} s on {record.device}, {record.fit.get('epochs', 1)} epoch(s)"
                    + (f", best {record.fit['best_epoch']}" if record.fit.get("best_epoch") else "")
                    + (", stopped early" if record.fit.get("stopped_early") else ""),
        "parent": record.parent_id, "job": record.job_id, "artifact": str(record.artifact_path),
        "created": f"{record.created_at} by {record.created_by}",
    }))
    common.stdout.print()
    _print_metric_table(record.metrics)
    history = record.fit.get("history") or []
    if history:
        common.stdout.print()
        cols = list(history[-1].keys())
        common.stdout.print(common.table("training history", cols, [[h.get(c) for c in cols] for h in history],
                                         right=cols))
    if record.drift:
        common.stdout.print()
        _print_drift(record.drift)


def _print_metric_table(metrics: dict) -> None:
    ks = sorted({int(k.split("@")[1]) for k in metrics if "@" in k})
    names = list(dict.fromkeys(k.split("@")[0] for k in metrics if "@" in k))
    rows = [[name] + [metrics.get(f"{name}@{k}") for k in ks] for name in names]
    common.stdout.print(common.table(f"metrics over {metrics.get('users', 0):,} test users", ["metric"] +
                                     [f"@{k}" for k in ks], rows, right=[f"@{k}" for k in ks]))


def _print_evaluation(result: model_evaluation.Evaluation) -> None:
    who = f"user {result.user}" if result.user else f"{result.users:,} test users"
    common.note(f"model {result.model_id} ({result.algo} on '{result.dataset}'), full ranking, {who}")
    _print_metric_table(result.metrics)


def print_comparison(result: model_reads.Comparison) -> None:
    """Models side by side: one column per model, one row per metric."""
    k = result.k
    heads = [f"{r['id']} {r['algo']}" for r in result.rows]
    rows = [["data"] + [r["dataset"] for r in result.rows], ["split"] + [r["split"] for r in result.rows]]
    rows += [[f"{name}@{k}"] + [r[f"{name}@{k}"] for r in result.rows] for name in model_reads.COMPARED]
    rows.append(["fit s"] + [r["fit_seconds"] for r in result.rows])
    common.stdout.print(common.table(None, ["model"] + heads, rows, right=heads))
    for note in result.notes:
        common.note(f"note: {note}")


def _print_drift(drift: dict) -> None:
    if not drift:
        return
    common.stdout.print(common.kv("drift against the parent", {
        "users": f"{drift['users']:,} ({drift['new_users']:,} new)", "items": f"{drift['items']:,} ({drift['new_items']:,} new)",
        "score rank correlation": drift.get("rank_correlation"), "top-10 overlap": drift.get("top10_overlap"),
        "compared on": f"{drift.get('compared_users', 0):,} test users both models know",
    }))
    for key, change in (drift.get("metrics") or {}).items():
        common.note(f"  {key}: parent {change['parent']:.4f} → update {change['child']:.4f} ({change['change']:+.4f})")
