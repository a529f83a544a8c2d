"""The command groups of ``kpconsole``: where each lives and its one-line help.

The root command lists every group but imports only the one being run
(:func:`kpconsole.cli.load_groups`); each group's module takes its help from here, so the
listing and the group's own ``--help`` say the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    module: str
    help: str


GROUPS: dict[str, Group] = {
    "data": Group("kpconsole.cli.data", "Datasets: ingest files or Stack Exchange dumps, list, show, delete, generate."),
    "sim": Group("kpconsole.cli.sim", "Monetisation and engagement simulation: calibrate from data, run scenarios with "
                                      "intervals, compare, the feedback loop of a retrained model, backtest."),
    "segment": Group("kpconsole.cli.segment",
                     "Behaviour segments: RFM, lifecycle stages, k-means / GMM clusters and their profiles."),
    "value": Group("kpconsole.cli.value", "Customer value: repeat-buying, spend and retention models, P(alive), CLV."),
    "community": Group("kpconsole.cli.community",
                       "Community health: Q&A figures, Area 51 ratings, inequality, monetisation."),
    "route": Group("kpconsole.cli.route", "Question routing: who will answer a question, and its evaluation "
                                          "against popularity, tag and text baselines."),
    "model": Group("kpconsole.cli.model", "Recommender models: train, list, show, evaluate, compare, update."),
    "jobs": Group("kpconsole.cli.jobs", "Jobs: long work running detached — list, show, logs, cancel, resume, start."),
    "access": Group("kpconsole.cli.access",
                    "Access: who may use this workspace, with which role and SSH keys (admin only)."),
}
