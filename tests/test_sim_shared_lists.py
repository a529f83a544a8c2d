"""A list shown to every visitor (one replicate's popularity slate) takes a shorter path — an
expanded view, its columns hashed once, its utilities from one product — which must give
exactly what the per-row path gives for the same list copied into every row."""

from __future__ import annotations

import torch

from engine.simulate import rng
from engine.simulate.choice import Tastes, choose, first_not_owned
from engine.simulate.seen import empty


def _tastes(users: int = 300, items: int = 40, dims: int = 6) -> Tastes:
    gen = torch.Generator().manual_seed(5)
    segment = torch.arange(users) % 2
    return Tastes.of(torch.rand(users, dims, generator=gen), torch.rand(items, dims, generator=gen),
                     torch.randn(items, generator=gen), -0.5, torch.tensor([1.5, 3.0]), segment, torch.arange(users))


def _shared(row: list[int], visitors: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The same list as an expanded view and as a copy in every row."""
    view = torch.tensor(row).expand(visitors, -1)
    return view, view.contiguous()


def test_shared_columns_hash_to_the_same_draws() -> None:
    rows = torch.arange(3, 250, 3)
    view, copy = _shared([7, 0, 39, 12, 40], len(rows))
    assert view.stride(0) == 0 and copy.stride(0) != 0
    assert torch.equal(rng.uniform(1, "choice", 4, rows, view), rng.uniform(1, "choice", 4, rows, copy))
    base = torch.randn(len(rows), 5)
    assert torch.equal(rng.gumbel_added(base, 1, "choice", 4, rows, view),
                       rng.gumbel_added(base, 1, "choice", 4, rows, copy))


def test_shared_slate_utilities_and_choices_are_the_per_row_ones() -> None:
    tastes = _tastes()
    rows = torch.arange(0, 300, 2)
    view, copy = _shared([40, 3, 17, 0, 25, 9], len(rows))  # the outside option first, as choose puts it
    assert torch.equal(tastes.utility(rows, view), tastes.utility(rows, copy))
    slate_view, slate_copy = _shared([3, 17, 0, 25, 9, -1], len(rows))  # a pad is never opened
    for attention in (None, torch.tensor([[0.4, 0.7, 0.9, 0.97, 0.99], [0.2, 0.5, 0.8, 0.9, 0.95]])):
        a = choose(2, rows, slate_view, tastes, attention, rng.Draws(9))
        b = choose(2, rows, slate_copy, tastes, attention, rng.Draws(9))
        for field in ("row", "visitor", "item", "received"):
            assert torch.equal(getattr(a, field), getattr(b, field)), field
        assert bool((a.item >= 0).all())


def test_an_unchecked_shared_list_stays_a_view() -> None:
    rows = torch.arange(10)
    cand = torch.tensor([4, 1, 2, 8]).expand(len(rows), -1)
    owns_any = torch.zeros(10, dtype=torch.bool)
    slate = first_not_owned(cand, rows, empty(10, 9, torch.device("cpu")), owns_any, 3)
    assert slate.stride(0) == 0 and slate[0].tolist() == [4, 1, 2]
