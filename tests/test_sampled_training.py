"""BPR-MF and NCF train without autograd: the closed-form gradients are autograd's on the
reference loss, the row-wise Adagrad is torch's sparse Adagrad, and the row bookkeeping is
``torch.unique``'s."""

from __future__ import annotations

import pytest
import torch

from engine.recommend.bpr import MFNet
from engine.recommend.ncf import NeuMF
from engine.recommend.sampled import RowAdagrad, loss_and_score_gradient, unique_rows

# users and items repeat within the batch, as they do in a real one
USERS = torch.tensor([0, 3, 3, 6, 0])
ITEMS = torch.tensor([[1, 2, 5], [4, 2, 2], [4, 0, 10], [9, 1, 3], [1, 7, 8]])


def _nets():
    return [MFNet(7, 11, 4).init(torch.Generator().manual_seed(0)),
            NeuMF(7, 11, 4, (8, 6, 4)).init(torch.Generator().manual_seed(0))]


@pytest.mark.parametrize("loss", ["bpr", "bce"])
@pytest.mark.parametrize("net", _nets(), ids=["bpr", "ncf"])
def test_closed_form_gradients_equal_autograd_on_the_reference_loss(net, loss):
    reg = 0.3
    per_pair = net(USERS, ITEMS[:, 0], ITEMS[:, 1:], loss, reg)
    net.zero_grad()
    per_pair.sum().backward()
    with torch.no_grad():
        scores, norms, saved = net.scores(USERS, ITEMS)
        data, grad_scores = loss_and_score_gradient(scores, loss)
        rows, dense = net.gradients(saved, grad_scores, reg)
    assert torch.allclose(data + reg * norms, per_pair, atol=1e-6)
    named = dict(net.named_parameters())
    assert set(rows) | set(dense) == set(named)
    for name, (index, grad) in rows.items():
        summed = torch.zeros_like(named[name]).index_add_(0, index, grad)
        assert torch.allclose(summed, named[name].grad, atol=1e-6), name
    for name, grad in dense.items():
        assert torch.allclose(grad.to(named[name].dtype), named[name].grad, atol=1e-6), name  # dense: float64 sums


def test_row_adagrad_takes_torchs_sparse_adagrad_steps_and_leaves_other_rows_alone():
    g = torch.Generator().manual_seed(3)
    ours = torch.randn(20, 3, generator=g)
    theirs = torch.nn.Parameter(ours.clone())
    reference = torch.optim.Adagrad([theirs], lr=0.1)
    adagrad = RowAdagrad({"w": ours}, lr=0.1)
    untouched = ours[15:].clone()
    for _ in range(4):
        index = torch.randint(0, 15, (12,), generator=g)  # with repeats, never rows 15-19
        grad = torch.randn(12, 3, generator=g)
        adagrad.step({"w": (index, grad)})
        theirs.grad = torch.sparse_coo_tensor(index[None], grad, (20, 3))
        reference.step()
    assert torch.allclose(ours, theirs.detach(), atol=1e-6)
    assert torch.equal(ours[15:], untouched)
    assert torch.allclose(adagrad.sums["w"], reference.state[theirs]["sum"], atol=1e-6)


@pytest.mark.parametrize("length", [5, 400])
def test_unique_rows_are_torch_unique_by_either_route(length):
    index = torch.randint(0, 300, (length,), generator=torch.Generator().manual_seed(length))
    rows, inverse = unique_rows(index, 300)
    expected_rows, expected_inverse = torch.unique(index, return_inverse=True)
    assert torch.equal(rows, expected_rows) and torch.equal(inverse, expected_inverse)
