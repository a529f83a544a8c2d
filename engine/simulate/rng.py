"""Counter-based random numbers: the same (seed, stream, day, agent, item) always gives the same draw.

A decision of agent ``row`` (about item or slot ``col``) on ``day`` in a named ``stream`` gets::

    k   = key(seed, stream, day)                       (SplitMix64 of the coordinates, exact)
    h   = mix(mix(row ⊕ k₀) ⊕ (col·φ + k₁))             (lowbias32 of C. Wellons, on int32)
    u   = (h >> 8 + ½) / 2²⁴

computed on int32 tensors (vectorised on CPU, the same integers on CUDA). It depends on
nothing but its coordinates, which gives the simulator:

* **common random numbers**: agent 17's visit on day 3, and its reaction to item 42 that day,
  are the same numbers in every scenario, however many draws others made — so paired
  differences between scenarios measure the change, not the noise, and identical scenarios
  differ by 0;
* **device independence**: the draws are bit-identical on CPU and CUDA, so the two devices
  simulate the same people making the same draws (results then differ only where float
  arithmetic rounds differently).

Rows are the flat agent rows ``r·N + i`` of the whole run. A process that simulates only the
replicates ``[r₀, r₁)`` holds them as local rows ``(r - r₀)·N + i`` and hashes them with
``first_row = r₀·N`` (:class:`Draws`): its draws are the ones a single process makes for those
replicates, which is what lets replicates be sharded over processes exactly
(:mod:`engine.simulate.distributed`).

Uniforms have 24 bits (the float32 mantissa) and lie strictly inside (0, 1). The hashing
works in place on one int32 buffer and one scratch buffer per draw (eager temporaries at a
million elements cost more in fresh pages than in arithmetic).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_MASK64 = (1 << 64) - 1
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_C_STREAM = 0xD1B54A32D192ED03
_C_DAY = 0xABC98388FB8FAC03
_PHI32 = 0x9E3779B9

#: Named streams: one per kind of decision, so adding a draw of one kind never shifts another.
STREAMS = ("visit", "choice", "attention", "buy", "refund", "refund_delay", "subscribe", "billing",
           "renew", "trial", "contribute", "policy", "level")


def _i32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _mix64(x: int) -> int:
    x &= _MASK64
    x = ((x ^ (x >> 30)) * _M1) & _MASK64
    x = ((x ^ (x >> 27)) * _M2) & _MASK64
    return x ^ (x >> 31)


def stream_key(seed: int, stream: str, day: int) -> int:
    """A 64-bit key (non-negative Python int) for one stream on one day."""
    code = STREAMS.index(stream) + 1
    return _mix64(_mix64(seed) ^ (code * _C_STREAM) ^ ((day + 1) * _C_DAY))


def _mix32_(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 on int32, in place (``>>`` is arithmetic in torch, hence the masks).

    Each step overwrites ``x`` or one scratch tensor, so a draw allocates two buffers whatever
    its size (eager temporaries cost page faults at a million elements)."""
    tmp = torch.empty_like(x)
    for shift, mask, mult in ((16, 0xFFFF, 0x7FEB352D), (15, 0x1FFFF, 0x846CA68B), (16, 0xFFFF, None)):
        torch.bitwise_right_shift(x, shift, out=tmp)
        tmp &= mask
        x ^= tmp
        if mult is not None:
            x *= _i32(mult)
    return x


def _to_unit_(h: torch.Tensor) -> torch.Tensor:
    """The top 24 bits of ``h`` (overwritten) as a float32 in (0, 1)."""
    torch.bitwise_right_shift(h, 8, out=h)
    h &= 0xFFFFFF
    u = h.to(torch.float32)  # exact (24 bits); converting first is 4× faster than an int-by-float product
    u *= 1.0 / (1 << 24)  # exact (a power of two)
    u += 1.0 / (1 << 25)  # = (h + ½)·2⁻²⁴ rounded as one float32 addition
    return u


def _row_hash(key: int, rows: torch.Tensor, first_row: int) -> torch.Tensor:
    h = rows.to(torch.int32, copy=True)
    if first_row:
        h += _i32(first_row)  # wraps as the global row's own int32 cast does
    h ^= _i32(key)
    return _mix32_(h)


def uniform(seed: int, stream: str, day: int, rows: torch.Tensor, cols: torch.Tensor | None = None, *,
            first_row: int = 0) -> torch.Tensor:
    """U(0,1) float32 draws for agent ``rows`` [V] (global row ``first_row + rows``); with
    ``cols`` ([V] pairs or [V, C]) one per (row, column). Columns that are one row expanded
    (stride 0, a list shown to everyone) are hashed once, not once per row: the same integers,
    three passes over [V, C] fewer."""
    key = stream_key(seed, stream, day)
    h = _row_hash(key, rows, first_row)
    if cols is None:
        h ^= _i32(key >> 32)
        return _to_unit_(_mix32_(h))
    shared = cols.dim() > rows.dim() and cols.stride(0) == 0  # every row the same columns (an expanded row)
    c = (cols[:1] if shared else cols).to(torch.int32, copy=True)
    c *= _i32(_PHI32)
    c += _i32(key >> 32)
    if shared:  # the columns' part once, then one pass over [V, C]
        c = torch.bitwise_xor(h[:, None], c)
    else:
        c ^= h[:, None] if cols.dim() > rows.dim() else h
    return _to_unit_(_mix32_(c))


def gumbel(seed: int, stream: str, day: int, rows: torch.Tensor, cols: torch.Tensor | None = None, *,
           first_row: int = 0) -> torch.Tensor:
    """Standard Gumbel draws ``-log(-log U)`` (the noise of a multinomial logit)."""
    return uniform(seed, stream, day, rows, cols, first_row=first_row).log_().neg_().log_().neg_()


def gumbel_added(base: torch.Tensor, seed: int, stream: str, day: int, rows: torch.Tensor,
                 cols: torch.Tensor, *, first_row: int = 0) -> torch.Tensor:
    """``base +`` the Gumbel draws of :func:`gumbel` (the same bits, one pass fewer: ``base −
    log(−log U)``); a new tensor."""
    w = uniform(seed, stream, day, rows, cols, first_row=first_row).log_().neg_().log_()
    return torch.sub(base, w, out=w)


@dataclass(frozen=True)
class Draws:
    """The draws of one simulation: its ``seed`` and ``first_row``, the run's global row of its
    local row 0 (``r₀·N`` when it holds replicates ``r₀, r₀ + 1, …``; 0 for the whole run).

    The simulator and its parts take this rather than a bare seed wherever agent rows are
    hashed, so that holding a window of the run's replicates changes no draw."""

    seed: int
    first_row: int = 0

    def uniform(self, stream: str, day: int, rows: torch.Tensor, cols: torch.Tensor | None = None) -> torch.Tensor:
        """:func:`uniform` at the global rows of ``rows``."""
        return uniform(self.seed, stream, day, rows, cols, first_row=self.first_row)

    def gumbel(self, stream: str, day: int, rows: torch.Tensor, cols: torch.Tensor | None = None) -> torch.Tensor:
        """:func:`gumbel` at the global rows of ``rows``."""
        return gumbel(self.seed, stream, day, rows, cols, first_row=self.first_row)

    def gumbel_added(self, base: torch.Tensor, stream: str, day: int, rows: torch.Tensor,
                     cols: torch.Tensor) -> torch.Tensor:
        """:func:`gumbel_added` at the global rows of ``rows``."""
        return gumbel_added(base, self.seed, stream, day, rows, cols, first_row=self.first_row)


def poisson_cdf(lam: torch.Tensor, cap: int) -> torch.Tensor:
    """``F(0), …, F(cap-1)`` of Poisson(λ) for each λ ([L] → [L, cap]), accumulated term by
    term (``p_k = p_{k-1}·λ/k``)."""
    term = torch.exp(-lam)
    cdf = term.clone()
    columns = []
    for j in range(1, cap + 1):
        columns.append(cdf)
        term = term * lam / j
        cdf = cdf + term
    return torch.stack(columns, dim=1) if columns else torch.zeros(len(lam), 0, device=lam.device)


def poisson_capped(u: torch.Tensor, cdf: torch.Tensor) -> torch.Tensor:
    """Poisson by inversion of its CDF at ``u`` [V], capped at ``cap``: ``k = min{k : F(k) ≥ u}``
    = the number of ``F(j) < u``, given each draw's row of :func:`poisson_cdf` ([V, cap])."""
    return (u[:, None] > cdf).sum(dim=1)
