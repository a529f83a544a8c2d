"""The OpenSSH way in: ``authorized_keys`` lines that force ``kpconsole ssh-entry``.

A line looks like::

    restrict,pty,command="/opt/kp/.venv/bin/kpconsole --workspace /srv/kp ssh-entry --as alice --key SHA256:…" ssh-ed25519 AAAA… alice@laptop

* ``restrict`` turns off port, agent and X11 forwarding and user rc files; ``pty`` gives back
  the terminal that ``restrict`` removed, so an interactive login can show the console.
* The command uses the **absolute path** of the ``kpconsole`` executable and of the workspace:
  sshd runs it through the account's shell with a minimal ``PATH`` (a virtualenv's ``bin`` is
  not on it) and without ``$KPCONSOLE_WORKSPACE``, so a bare ``kpconsole`` would not be found
  or would open another workspace.
* ``--key`` names the key's fingerprint so that the audit log records which key logged in
  (OpenSSH does not tell a forced command which key it accepted).

Files are edited atomically (a temporary file in the same folder, fsync, rename) under an
exclusive lock on the folder, keeping every other line as it was.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kpconsole.errors import ConsoleError

if TYPE_CHECKING:
    from kpconsole.access import PublicKey

OPTIONS = "restrict,pty"


def kpconsole_command() -> list[str]:
    """The most robust way to start this kpconsole from a forced command: its absolute path."""
    beside = Path(sys.executable).parent / "kpconsole"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("kpconsole")
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "kpconsole"]


def forced_command(ws_root: Path, person: str, fingerprint: str) -> str:
    """The shell command sshd runs for this person's key."""
    argv = [*kpconsole_command(), "--workspace", str(Path(ws_root).resolve()),
            "ssh-entry", "--as", person, "--key", fingerprint]
    return " ".join(shlex.quote(a) for a in argv)


def forced_command_line(ws_root: Path, person: str, key: PublicKey) -> str:
    """The whole ``authorized_keys`` line for ``key``."""
    command = forced_command(ws_root, person, key.fingerprint)
    if '"' in command or "\n" in command:
        raise ConsoleError(f"cannot write a forced command for paths containing quotes or newlines: {command}")
    return f'{OPTIONS},command="{command}" {key.openssh()}'


def _ours(line: str, person: str | None) -> bool:
    """Whether ``line`` is a kpconsole forced-command line (for ``person`` when given)."""
    if "ssh-entry" not in line or not line.lstrip().startswith(OPTIONS):
        return False
    if person is None:
        return True
    return re.search(rf"ssh-entry --as {re.escape(person)}( |\")", line) is not None


def _blob(line: str) -> str | None:
    """The base64 key blob of an authorized_keys line, or None."""
    for token in line.split():
        if token.startswith("AAAA"):
            return token
    return None


def install_line(path: Path, key: PublicKey, line: str) -> None:
    """Add ``line`` to ``path``, replacing an earlier line for the same key."""
    blob = key.public_key.split()[1]

    def edit(lines: list[str]) -> list[str]:
        kept = [old for old in lines if not (_blob(old) == blob and _ours(old, None))]
        return [*kept, line]

    _rewrite(path, edit)


def remove_person(path: Path, person: str) -> int:
    """Remove every kpconsole line for ``person``; returns how many were removed."""
    removed = 0

    def edit(lines: list[str]) -> list[str]:
        nonlocal removed
        kept = [old for old in lines if not _ours(old, person)]
        removed = len(lines) - len(kept)
        return kept

    if path.exists():
        _rewrite(path, edit)
    return removed


def _rewrite(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Apply ``edit`` to the lines of ``path`` atomically, under a lock on its folder."""
    folder = path.parent
    if not folder.is_dir():
        raise ConsoleError(f"{path}: folder {folder} does not exist (create it with mode 700)")
    lock = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        except (OSError, UnicodeDecodeError) as exc:
            raise ConsoleError(f"{path}: cannot read it ({exc})") from None
        lines = edit(text.splitlines())
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".authorized_keys.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("".join(f"{ln}\n" for ln in lines))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise ConsoleError(f"{path}: cannot write it ({exc})") from None
    finally:
        os.close(lock)
