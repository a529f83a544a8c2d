"""Behaviour segmentation: per-user features, RFM, lifecycle stages, clusters and their profiles.

* :mod:`engine.segment.features` — one row per user from the events (Polars, lazy);
* :mod:`engine.segment.rfm` — rank-based RFM quintiles and named segments;
* :mod:`engine.segment.lifecycle` — new / active / at-risk / dormant / churned / reactivated;
* :mod:`engine.segment.kmeans`, :mod:`engine.segment.gmm` — clustering in torch;
* :mod:`engine.segment.quality` — adjusted Rand, silhouette, bootstrap stability;
* :mod:`engine.segment.cluster` — choosing k and putting clustering together;
* :mod:`engine.segment.profiles` — what each segment is: size, revenue, engagement, content;
* :mod:`engine.segment.lift` — what sets a segment apart: values by lift (share in segment / share overall);
* :mod:`engine.segment.explain` — why one user is in their segment.
"""
