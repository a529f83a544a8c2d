"""Maximum-likelihood fits of the two logits calibration needs.

**Item choice** (McFadden's conditional logit): user ``i`` of segment ``s`` opens item ``j``
with probability ``softmax_j(β_s·⟨x_i, v_j⟩ + q_j)`` over the catalog, ``x_i`` the user's taste
(the mean item vector of their interactions) and ``q_j`` the item's quality.

**Purchase** (binary logit per segment): a viewed paid item is bought with probability
``σ(b_s − α_s·ln(price / reference))``; fitted by Newton's method with a small ridge so that a
segment with no purchases gets a finite, very negative intercept.
"""

from __future__ import annotations

import numpy as np
import torch

MAX_CELLS = 8_000_000  # events (or users) × items held at once


def fit_item_choice(user_taste_sum: np.ndarray, user_count: np.ndarray, user_segment: np.ndarray,
                    event_user: np.ndarray, event_item: np.ndarray, vectors: np.ndarray, segments: int,
                    *, fixed_taste: np.ndarray | None = None, seed: int = 0,
                    rounds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(β per segment, q per item) from interaction events, by alternating two steps:

    * **q** — the fixed-point ("contraction") of Berry, Levinsohn & Pakes (1995): with β fixed,
      ``q_j ← q_j + ln(n_j + ½) − ln(n̂_j + ½)`` until the model's expected count ``n̂_j`` of
      every item matches its observed count ``n_j`` (users' full tastes, weighted by their
      numbers of events);
    * **β** — maximum likelihood of the sampled events given q, each event's taste leaving
      that event out (users with a single event are skipped).

    With ``fixed_taste`` (a CF model's user embeddings) tastes are those vectors for both steps
    and no event is left out — they were learned from the same events, so β is in-sample.
    A segment without usable events gets the mean β of the others (2.0 when none has any).
    """
    rng = np.random.default_rng(seed)
    m = vectors.shape[0]
    v = torch.as_tensor(vectors, dtype=torch.float32)
    observed = torch.as_tensor(np.bincount(event_item, minlength=m), dtype=torch.float32)
    users = np.flatnonzero(user_count > 0)
    if len(users) * m > MAX_CELLS:
        users = np.sort(rng.choice(users, size=max(1, MAX_CELLS // m), replace=False))
    scale = float(user_count.sum() / max(user_count[users].sum(), 1))
    weight = torch.as_tensor(user_count[users] * scale, dtype=torch.float32)
    full = fixed_taste if fixed_taste is not None else user_taste_sum / np.maximum(user_count, 1)[:, None]
    aff_users = torch.as_tensor(full[users], dtype=torch.float32) @ v.T  # [U', M]
    seg_users = torch.as_tensor(user_segment[users])
    usable = np.flatnonzero(user_count[event_user] >= (1 if fixed_taste is not None else 2))
    if len(usable) * m > MAX_CELLS:
        usable = np.sort(rng.choice(usable, size=max(1, MAX_CELLS // m), replace=False))
    u, j = event_user[usable], event_item[usable]
    if fixed_taste is not None:
        event_taste = torch.as_tensor(fixed_taste[u], dtype=torch.float32)
    else:
        event_taste = ((torch.as_tensor(user_taste_sum[u], dtype=torch.float32) - v[j])
                       / torch.as_tensor(user_count[u] - 1.0, dtype=torch.float32)[:, None])
    aff_events = event_taste @ v.T  # [E, M]
    seg_events, target = torch.as_tensor(user_segment[u]), torch.as_tensor(j)
    present = np.bincount(user_segment[u], minlength=segments) > 0
    beta = torch.full((segments,), 2.0)
    q = torch.log(observed + 0.5)
    q -= q.mean()
    for _ in range(rounds):
        for _ in range(50):
            p = torch.softmax(beta[seg_users][:, None] * aff_users + q, dim=1)
            expected = (weight[:, None] * p).sum(dim=0)
            step = torch.log(observed + 0.5) - torch.log(expected + 0.5)
            q += step
            q -= q.mean()
            if step.abs().max() < 1e-3:
                break
        if len(usable):
            beta = _fit_beta(beta, aff_events, seg_events, target, q)
    fitted = beta.numpy().astype(np.float64)
    out = np.where(present, fitted, np.nan)
    out[~present] = np.nanmean(out) if present.any() else 2.0
    return out, q.numpy().astype(np.float64)


def _fit_beta(beta: torch.Tensor, affinity: torch.Tensor, segment: torch.Tensor, target: torch.Tensor,
              q: torch.Tensor) -> torch.Tensor:
    b = beta.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([b], lr=1.0, max_iter=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(b[segment][:, None] * affinity + q[None, :], target)
        loss.backward()
        return loss

    opt.step(closure)
    return b.detach()


def fit_purchase(segment: np.ndarray, log_rel_price: np.ndarray, bought: np.ndarray, segments: int,
                 ridge: float = 1e-2, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(intercept b, price sensitivity α) per segment of ``P(buy) = σ(b − α·log_rel_price)``.

    Newton–Raphson with step halving on the penalised log-likelihood (penalty
    ``λ·(b² + α²)/2``, ``λ = ridge·√exposures``, so it matters only where data are thin).
    """
    b = np.full(segments, -3.0)
    alpha = np.zeros(segments)
    for s in range(segments):
        mask = segment == s
        if not mask.any():
            continue
        x = np.stack([np.ones(mask.sum()), -log_rel_price[mask]], axis=1)
        y = bought[mask].astype(np.float64)
        w = np.array([b[s], alpha[s]])
        lam = ridge * max(1.0, np.sqrt(mask.sum()))
        for _ in range(iterations):
            step = np.linalg.solve(_hessian(x, w, lam), _gradient(x, y, w, lam))
            scale = 1.0  # halve the Newton step until the penalised likelihood improves
            while scale > 1e-6 and _objective(x, y, w - scale * step, lam) < _objective(x, y, w, lam):
                scale /= 2
            w = w - scale * step
            if np.abs(scale * step).max() < 1e-8:
                break
        b[s], alpha[s] = w
    return b, alpha


def _objective(x: np.ndarray, y: np.ndarray, w: np.ndarray, lam: float) -> float:
    z = x @ w
    return float((y * z - np.logaddexp(0.0, z)).sum() - lam * (w @ w) / 2)


def _gradient(x: np.ndarray, y: np.ndarray, w: np.ndarray, lam: float) -> np.ndarray:
    p = 0.5 * (1.0 + np.tanh(0.5 * (x @ w)))
    return x.T @ (y - p) - lam * w


def _hessian(x: np.ndarray, w: np.ndarray, lam: float) -> np.ndarray:
    p = 0.5 * (1.0 + np.tanh(0.5 * (x @ w)))
    return -(x.T * (p * (1 - p))) @ x - lam * np.eye(2)
