"""Collaborative-filtering recommenders on implicit feedback, evaluated honestly.

* data: :mod:`.interactions` (events → weighted user × item pairs), :mod:`.matrix` (CSR),
  :mod:`.splits` (random per user, temporal, leave-last-out);
* models behind one interface (:mod:`.base`, :mod:`.algorithms`): :mod:`.popularity`,
  :mod:`.itemknn`, :mod:`.ease`, :mod:`.als`, :mod:`.bpr`, :mod:`.ncf`; the epoch loop with
  early stopping and checkpoints (:mod:`.training`), sampled-negative training
  (:mod:`.sampled`) and its DDP form (:mod:`.distributed`);
* evaluation: :mod:`.evaluate` (full ranking), :mod:`.metrics`, :mod:`.exposure`;
* serving: :mod:`.serving` (filters, cold start), :mod:`.mmr`, :mod:`.explain`;
* files: :mod:`.artifact` (weights-only), updates: :mod:`.update` (warm start, drift).
"""
