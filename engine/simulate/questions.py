"""Q&A in a growing catalog: who asks each new question, and when it is first answered.

A new item of kind ``question`` (:mod:`engine.simulate.arrivals`) is asked on its arrival day
by one of that day's contributing visitors of its replicate, in the order of a draw (column 1
of the day's ``contribute`` stream; column 0 decides who contributes): the calibrated
contribution rate counts asks and answers alike, so an asker's contribution that day is the
question. When a replicate has fewer contributors than new questions that day, the rest are
asked by no agent (an asker from outside the simulated population). Every other contributing
visitor answers the first question they opened that day (in slate order), not counting their
own; a new question's first answer is the first day that happens. Questions of the day-0
catalog are answered the same way but not followed: the KPIs are about questions asked
during the run.

The day's KPIs, per replicate:

* ``questions_asked`` — new questions that day;
* ``answer_rate`` — of the questions asked from day 0 to that day, the share with at least
  one answer by that day (its last value is the run's figure);
* ``time_to_first_answer`` — the mean days from asking to the first answer over those
  answered by that day (0 = answered the day it was asked; 0 when none is).
"""

from __future__ import annotations

import numpy as np
import torch

from engine.simulate import rng
from engine.simulate.arrivals import NewItems
from engine.simulate.choice import Clicks
from engine.simulate.gather import take
from engine.simulate.metrics import safe_ratio

QUESTION = "question"
KPIS = ("questions_asked", "answer_rate", "time_to_first_answer")


class Questions:
    """The run's new questions: asked day, asker and first-answer day, per replicate [R, Q]."""

    def __init__(self, new: NewItems, kinds: np.ndarray, items0: int, draws: rng.Draws, device: torch.device) -> None:
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
        self._answer(day, contributed & ~asking, clicks, click_rep)
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

