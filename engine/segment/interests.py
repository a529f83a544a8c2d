"""What a segment is drawn to, read from a collaborative-filtering model's embeddings.

With x_i the user vectors and y_j the item vectors of one factor model, the centroid of a
segment's members is u_s = mean_{i ∈ s} x_i and that of every assigned user u = mean_i x_i.
A segment's interests are the items with the largest lift (u_s − u) · y_j: what the segment
scores higher than the average user does. (Plain u_s · y_j would list the same popular items
for every segment.) Members the model does not know (index −1) are left out.
"""

from __future__ import annotations

import torch


def segment_interests(user_vectors: torch.Tensor, item_vectors: torch.Tensor, member_index: torch.Tensor,
                      segment_of: torch.Tensor, k: int, top: int = 5
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(top item indices k × top, their lifts, members known to the model per segment).

    ``member_index``: each assigned user's row in ``user_vectors`` (−1 if unknown);
    ``segment_of``: their 0-based segment. Segments without a known member get −1 indices.
    """
    known = member_index >= 0
    vectors = user_vectors.to(torch.float64)[member_index[known]]
    segs = segment_of[known]
    sums = torch.zeros(k, vectors.shape[1], dtype=torch.float64).index_add_(0, segs, vectors)
    counts = torch.bincount(segs, minlength=k)
    centroids = sums / counts.clamp_min(1)[:, None]
    overall = vectors.mean(0) if len(vectors) else torch.zeros(vectors.shape[1], dtype=torch.float64)
    lift = (centroids - overall[None, :]) @ item_vectors.to(torch.float64).T
    best, idx = torch.topk(lift, min(top, item_vectors.shape[0]), dim=1)
    idx = torch.where(counts[:, None] > 0, idx, torch.full_like(idx, -1))
    return idx, best, counts
