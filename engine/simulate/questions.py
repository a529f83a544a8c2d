"""Q&A in a growing catalog: who asks each new question, and when it is first answered.

A new item of kind ``question`` (:mod:`engine.simulate.arrivals`) is asked on its arrival day
by one of that day's contributing visitors of its replicate, in the order of a draw (column 1
of the day's ``contribute`` stream; column 0 decides who contributes): the calibrated
contribution rate counts asks and answers alike, so an asker's contribution that day is the
question. When a replicate has fewer contributors than new questions that day, the rest are
asked by no agent (an asker from outside the simulated population). Every other contributing
visitor answers (:class:`~engine.simulate.world.Answering`):

* with probability ``fresh_share`` (column 2 of the ``contribute`` stream), an *open* question
  of the run — asked in its replicate, not by them, younger than ``window_days`` — drawn with
  weight ``exp(−age/τ)``, times ``unanswered_boost`` for one without an answer at the start of
  the day, among the replicate's open ones (column 3: one inverse-CDF draw over the flattened
  ``[R, Q]`` cumulative weights), as answerers on a real site go to the newest and unanswered
  questions;
* otherwise, or when their draw finds no open question (none in the replicate, or their own),
  the first question they opened that day (in slate order), not counting their own.

A new question's first answer is the first day either happens. Questions of the day-0
catalog are answered by the second rule but not followed: the KPIs are about questions asked
during the run.

Calibration (:func:`fit_answering`, on the data's questions and answers before the cut):
``fresh_share`` is the share of answers given less than ``window_days`` days after their
question was asked; τ and the boost are the maximum-likelihood fit of the same choice — each
of those answers picks one of the questions asked in the ``window_days`` days up to its day,
with weight ``exp(−age/τ)·boost^[no answer before that day]`` (a conditional logit on the two
features, by Newton's method, τ kept in [``MIN_TAU_DAYS``, ``MAX_TAU_DAYS``] and the boost in
[1/``MAX_BOOST``, ``MAX_BOOST``]).
"""

from __future__ import annotations

import numpy as np
import torch

from engine.simulate import rng
from engine.simulate.arrivals import NewItems
from engine.simulate.choice import Clicks
from engine.simulate.gather import take
from engine.simulate.metrics import safe_ratio
from engine.simulate.world import Answering

QUESTION = "question"
KPIS = ("questions_asked", "answer_rate", "time_to_first_answer")
FRESH_WINDOW_DAYS = 30
MAX_TAU_DAYS = 1e6  # τ when the young answers' ages are as spread as a uniform law's (no pull to the newest)
MIN_TAU_DAYS = 1e-3  # τ when every young answer came the day its question was asked
MAX_BOOST = 1e4  # bounds of the unanswered boost (a fit that would put every answer on unanswered ones)
NEVER = 1 << 40  # the first-answer day of a question never answered


def fit_answering(asked: np.ndarray, answer_of: np.ndarray, answer_day: np.ndarray,
                  window: int = FRESH_WINDOW_DAYS) -> Answering:
    """The answering model of the data's questions, asked on days ``asked`` [Q], and answers, to
    question ``answer_of`` [A] on day ``answer_day`` [A] (answers before their question are left
    out; see the module docstring). No answer: the default (answer the first question opened)."""
    asked = np.asarray(asked, dtype=np.int64)
    answer_of, answer_day = np.asarray(answer_of, dtype=np.int64), np.asarray(answer_day, dtype=np.int64)
    age = answer_day - asked[answer_of]
    keep = age >= 0
    answer_of, answer_day, age = answer_of[keep], answer_day[keep], age[keep]
    young = age < window
    if not young.any():
        return Answering(window_days=window)
    first = np.full(len(asked), NEVER, dtype=np.int64)
    np.minimum.at(first, answer_of, answer_day)
    days, per_day = np.unique(answer_day[young], return_counts=True)
    # each answer day's choice set: the questions asked in the window's days before it
    order = np.argsort(asked, kind="stable")
    lo = np.searchsorted(asked[order], days - window + 1, side="left")
    sizes = np.searchsorted(asked[order], days, side="right") - lo
    set_of = np.repeat(np.arange(len(days)), sizes)
    q = order[np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + np.repeat(lo, sizes)]
    x = np.stack([(days[set_of] - asked[q]).astype(np.float64), (first[q] >= days[set_of]).astype(np.float64)], 1)
    chosen = np.stack([age[young], first[answer_of[young]] == answer_day[young]], 1).astype(np.float64).sum(axis=0)
    bounds = np.array([[-1 / MIN_TAU_DAYS, -1 / MAX_TAU_DAYS], [-np.log(MAX_BOOST), np.log(MAX_BOOST)]])
    theta = _conditional_logit(x, set_of, per_day.astype(np.float64), chosen, bounds)
    return Answering(fresh_share=float(young.mean()), tau_days=float(-1 / theta[0]),
                     unanswered_boost=float(np.exp(theta[1])), window_days=window)


def _conditional_logit(x: np.ndarray, set_of: np.ndarray, picks: np.ndarray, chosen: np.ndarray,
                       bounds: np.ndarray) -> np.ndarray:
    """θ maximising ``θ·chosen − Σ_s picks_s · log Σ_{j∈s} exp(θ·x_j)`` (the rows ``x`` [J, 2] of set
    ``set_of`` [J]; ``chosen`` the sum of the picked rows' features) by Newton's method with step
    halving, kept inside ``bounds`` [2, 2] (a concave likelihood)."""
    sets = len(picks)

    def moments(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        v = x @ theta
        top = np.full(sets, -np.inf)
        np.maximum.at(top, set_of, v)
        w = np.exp(v - top[set_of])
        total = np.bincount(set_of, weights=w, minlength=sets)
        ll = float(theta @ chosen - (picks * (np.log(total) + top)).sum())
        p = w * (picks / total)[set_of]  # each row's expected picks
        mean = p @ x
        second = (x * p[:, None]).T @ x
        return ll, chosen - mean, -(second - _between(x, p, set_of, picks, sets))

    theta = np.clip(np.array([-1.0, 0.0]), bounds[:, 0], bounds[:, 1])
    ll, grad, hess = moments(theta)
    for _ in range(100):
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = grad
        for _ in range(40):
            trial = np.clip(theta + step, bounds[:, 0], bounds[:, 1])
            trial_ll, trial_grad, trial_hess = moments(trial)
            if trial_ll >= ll - 1e-12:
                break
            step = step / 2
        else:
            break
        done = abs(trial_ll - ll) < 1e-10 * max(1.0, abs(ll))
        theta, ll, grad, hess = trial, trial_ll, trial_grad, trial_hess
        if done:
            break
    return theta


def _between(x: np.ndarray, p: np.ndarray, set_of: np.ndarray, picks: np.ndarray, sets: int) -> np.ndarray:
    """``Σ_s picks_s · E_s[x] E_s[x]ᵀ`` from the rows' expected picks ``p`` (``picks_s · P(j | s)``)."""
    m = np.stack([np.bincount(set_of, weights=p * x[:, k], minlength=sets) for k in range(x.shape[1])], 1)
    m = m / np.maximum(picks, 1e-300)[:, None]  # E_s[x]
    return (m * picks[:, None]).T @ m


class Questions:
    """The run's new questions: asked day, asker and first-answer day, per replicate [R, Q]."""

    def __init__(self, new: NewItems, kinds: np.ndarray, items0: int, draws: rng.Draws, device: torch.device,
                 answering: Answering | None = None) -> None:
        self.answering = answering or Answering()
        is_question = kinds == QUESTION  # [M₀ + S]
        slots = np.flatnonzero(is_question[items0:])
        self.count = len(slots)
        self.draws, self.dev = draws, device
        self.asked = torch.as_tensor(new.arrival[:, slots], device=device)  # [R, Q]
        self.asker = torch.full_like(self.asked, -1)
        self.first_answer = torch.full_like(self.asked, -1)
        column = np.full(len(kinds), -1, dtype=np.int64)
        column[items0 + slots] = np.arange(self.count)
        self.column = torch.as_tensor(column, device=device)  # item -> its new question's index, -1 for others
        self.is_question = torch.as_tensor(is_question, device=device)

    def day(self, day: int, rows: torch.Tensor, rep: torch.Tensor, contributed: torch.Tensor,
            clicks: Clicks, click_rep: torch.Tensor) -> dict[str, torch.Tensor]:
        """Ask today's new questions and answer from today's contributions (``contributed`` [V]
        over the visitors ``rows``); the day's KPIs."""
        asking = self._ask(day, rows, rep, contributed)
        answering = contributed & ~asking
        if self.answering.fresh_share > 0:
            answering = self._answer_fresh(day, rows, rep, answering)
        self._answer(day, answering, clicks, click_rep)
        asked = self.asked <= day
        answered = self.first_answer >= 0
        waited = torch.where(answered, self.first_answer - self.asked, 0).sum(dim=1)
        return {"questions_asked": (self.asked == day).sum(dim=1),
                "answer_rate": safe_ratio(answered.sum(dim=1), asked.sum(dim=1)),
                "time_to_first_answer": safe_ratio(waited, answered.sum(dim=1))}

    def _ask(self, day: int, rows: torch.Tensor, rep: torch.Tensor, contributed: torch.Tensor) -> torch.Tensor:
        """Give today's new questions their askers; which visitors [V] asked."""
        replicates = self.asked.shape[0]
        q_rep, q_idx = torch.nonzero(self.asked == day, as_tuple=True)  # by replicate, then question
        asking = torch.zeros_like(contributed)
        if q_rep.numel() == 0:
            return asking
        who = torch.nonzero(contributed).flatten()  # visitors, by row (so by replicate)
        w_rep = take(rep, who)
        key = self.draws.uniform("contribute", day, take(rows, who), torch.ones_like(who))
        who = who[torch.argsort(w_rep.to(torch.float64) + key.to(torch.float64), stable=True)]  # shuffled in replicate
        have = torch.bincount(w_rep, minlength=replicates)
        first = torch.cumsum(have, dim=0) - have
        per_rep = torch.bincount(q_rep, minlength=replicates)
        place = torch.arange(len(q_rep), device=self.dev) - take(torch.cumsum(per_rep, dim=0) - per_rep, q_rep)
        found = place < take(have, q_rep)
        asker = take(who, (take(first, q_rep) + place)[found])
        self.asker[q_rep[found], q_idx[found]] = take(rows, asker)
        asking[asker] = True
        return asking

    def _answer_fresh(self, day: int, rows: torch.Tensor, rep: torch.Tensor, answering: torch.Tensor) -> torch.Tensor:
        """The answering visitors [V] who answer an open question of the run, drawn by age; those left
        (who answer the first question they opened)."""
        who = torch.nonzero(answering).flatten()
        if who.numel() == 0:
            return answering
        row = take(rows, who)
        fresh = self.draws.uniform("contribute", day, row, torch.full_like(who, 2)) < self.answering.fresh_share
        who, row = who[fresh], row[fresh]
        Q = self.asked.shape[1]
        if who.numel() == 0 or Q == 0:
            return answering
        age = day - self.asked  # [R, Q]; a slot its replicate does not fill has a very negative age
        open_ = (age >= 0) & (age < self.answering.window_days)
        weight = torch.where(open_, torch.exp(-age.clamp(min=0).to(torch.float64) / self.answering.tau_days), 0.0)
        if self.answering.unanswered_boost != 1.0:  # by the state at the start of the day
            weight = torch.where(self.first_answer < 0, weight * self.answering.unanswered_boost, weight)
        cum = torch.cumsum(weight.flatten(), dim=0)
        edges = torch.cat([cum.new_zeros(1), cum])[::Q]  # [R + 1]: the cumulative weight before each replicate
        r = take(rep, who)
        lo, hi = take(edges, r), take(edges, r + 1)
        u = self.draws.uniform("contribute", day, row, torch.full_like(who, 3)).to(torch.float64)
        flat = torch.searchsorted(cum, lo + u * (hi - lo), right=True).clamp(max=r * Q + Q - 1)
        col = flat - r * Q
        found = (hi > lo) & (take(weight.flatten(), flat) > 0) & (self.asker[r, col] != row)
        r, col = r[found], col[found]
        unanswered = self.first_answer[r, col] < 0
        self.first_answer[r[unanswered], col[unanswered]] = day
        left = answering.clone()
        left[who[found]] = False
        return left

    def _answer(self, day: int, answering: torch.Tensor, clicks: Clicks, click_rep: torch.Tensor) -> None:
        """Each answering visitor answers the first question they opened today that they did not ask."""
        column = take(self.column, clicks.item)
        mine = torch.zeros_like(column, dtype=torch.bool)
        new = column >= 0
        mine[new] = self.asker[click_rep[new], column[new]] == clicks.row[new]
        pick = torch.nonzero(take(answering, clicks.visitor) & take(self.is_question, clicks.item) & ~mine).flatten()
        visitor = take(clicks.visitor, pick)
        first = torch.ones_like(visitor, dtype=torch.bool)
        first[1:] = visitor[1:] != visitor[:-1]  # clicks come by visitor: the first of each
        pick = pick[first]
        col = take(column, pick)
        pick, col = pick[col >= 0], col[col >= 0]
        r = take(click_rep, pick)
        open_ = self.first_answer[r, col] < 0
        self.first_answer[r[open_], col[open_]] = day

