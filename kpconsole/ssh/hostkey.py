"""The built-in SSH server's host key: generated on first start, kept in the workspace.

``<workspace>/ssh/host_ed25519_key`` (mode 0600, folder 0700). A key that others may read is
refused, as sshd refuses one: its secrecy is what lets clients trust they reach this server.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncssh

from kpconsole.errors import ConsoleError

FOLDER = "ssh"
NAME = "host_ed25519_key"


def host_key_path(ws_root: Path) -> Path:
    return Path(ws_root) / FOLDER / NAME


def load_or_create(ws_root: Path) -> asyncssh.SSHKey:
    """The host key, generated (ed25519, 0600) when the workspace has none yet."""
    path = host_key_path(ws_root)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment="kpconsole host key")
        tmp = path.with_name(f".{NAME}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.export_private_key("openssh"))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails if another server made one meanwhile
        except FileExistsError:
            return load_or_create(ws_root)
        finally:
            tmp.unlink(missing_ok=True)
        return key
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConsoleError(f"host key {path} may be read by others (mode {mode:o}): chmod 600 it")
    try:
        return asyncssh.read_private_key(path)
    except (asyncssh.KeyImportError, OSError) as exc:
        raise ConsoleError(f"host key {path}: cannot read it ({exc})") from None
