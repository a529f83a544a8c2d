"""Exit codes, in one place: 0 ok, 1 failure, 2 usage (including "no terminal for the TUI")."""

OK = 0
FAILURE = 1
USAGE = 2
