"""Community health and platform monetisation figures.

* :mod:`engine.community.inequality` — Gini coefficient and top-share concentration;
* :mod:`engine.community.qa` — Q&A health of a Stack Exchange–shaped community, rated against
  the Area 51 targets, with a weekly series;
* :mod:`engine.community.monetisation` — ARPU, ARPPU, paying ratio, refund rate, creator income
  concentration and the MRR roll-forward of a platform that sells content and memberships;
* :mod:`engine.community.activity` — daily, weekly and monthly active users, day by day.
"""
