"""What a person can do, as functions the CLI and the TUI both call (never each other)."""
