"""How a job's status reads on screen: a symbol and a word, so it reads without colour too."""

STATUS_MARK = {"queued": "… queued", "running": "▶ running", "succeeded": "✓ succeeded", "failed": "✗ failed",
               "cancelled": "■ cancelled", "lost": "? lost"}
