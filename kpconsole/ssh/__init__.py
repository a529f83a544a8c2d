"""The console over SSH: two ways in, one set of roles.

* **OpenSSH** (:mod:`kpconsole.ssh.entry`, :mod:`kpconsole.ssh.authorized_keys`): ``kpconsole
  access grant NAME --key FILE`` writes ``restrict,pty,command="… ssh-entry --as NAME …"`` lines
  for the host's sshd; ``kpconsole ssh-entry`` then serves that login.
* **Built in** (:mod:`kpconsole.ssh.server`, :mod:`kpconsole.ssh.sessions`,
  :mod:`kpconsole.ssh.child`, :mod:`kpconsole.ssh.tickets`): ``kpconsole serve-ssh``, asyncssh,
  public keys registered in the workspace, one process per session on a real pseudo-terminal.

Both end in :func:`kpconsole.ssh.commands.dispatch`: the TUI or an allow-listed CLI command,
run as the person who logged in (:func:`kpconsole.access.acting_as`), so the role checks and the
audit log of :meth:`kpconsole.session.Session.action` apply exactly as they do locally.
See docs/ssh.md.
"""
