"""Customer value: probabilistic models of repeat buying, spend and subscription retention.

* :mod:`engine.value.summary` turns transactions into the (x, t_x, T, m̄) summary the models need;
* :mod:`engine.value.bgnbd` (Fader, Hardie & Lee 2005), :mod:`engine.value.paretonbd`
  (Schmittlein, Morrison & Colombo 1987), :mod:`engine.value.gammagamma` (Fader, Hardie & Lee
  2005, "RFM and CLV"), :mod:`engine.value.sbg` (Fader & Hardie 2007);
* :mod:`engine.value.mle` fits any of them by maximum likelihood (torch float64 gradients);
* :mod:`engine.value.clv` combines a transaction model and a spend model into discounted CLV.
"""
