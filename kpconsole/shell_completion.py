"""The shell's side of completion: whether this process runs to complete a word, and the line.

Light on purpose (the executable asks before it loads the CLI); the completions themselves are
:mod:`kpconsole.cli.completion`'s.
"""

from __future__ import annotations

import os
import shlex

COMPLETE_VAR = "_KPCONSOLE_COMPLETE"
"""Set by the shell while it completes a word (typer's protocol: ``_{PROG}_COMPLETE``)."""


def completing() -> bool:
    """Whether this process was started by the shell to complete a word."""
    return bool(os.environ.get(COMPLETE_VAR))


def completed_words() -> list[str]:
    """While the shell completes a word, the line it completes (without ``kpconsole``): bash
    passes it in ``COMP_WORDS``, zsh and fish in ``_TYPER_COMPLETE_ARGS``; else ``[]``."""
    if not completing():
        return []
    line = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS", "")
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote in the word being typed
        words = line.split()
    return words[1:]
