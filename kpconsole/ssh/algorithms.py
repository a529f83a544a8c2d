"""The algorithms ``kpconsole serve-ssh`` offers: modern ones only, nothing kept for old clients.

Passed to :func:`asyncssh.create_server` (and so listed in its key-exchange offer); a client that
can agree on none of them is refused during the key exchange, before it can authenticate.

* **Key exchange**: hybrid post-quantum ML-KEM/X25519, Curve25519/448, NIST ECDH, and
  finite-field Diffie-Hellman only with SHA-2 and at least 2048-bit groups. Not
  ``diffie-hellman-group1-sha1`` (a 1024-bit group), ``diffie-hellman-group14-sha1`` or
  ``diffie-hellman-group-exchange-sha1`` (SHA-1), nor the GSS-API and RSA key exchanges.
  (asyncssh adds ``ext-info-s`` and the strict-kex marker that closes the Terrapin attack.)
* **Ciphers**: ChaCha20-Poly1305, AES-GCM and AES-CTR. No CBC modes (plaintext-recovery
  attacks) and no 3DES.
* **MACs** (used only with AES-CTR; the AEAD ciphers carry their own): HMAC-SHA2 and
  UMAC-128, encrypt-then-MAC first. No HMAC-SHA1 or HMAC-MD5, no 64-bit UMAC tag.
* **Host key**: the workspace's Ed25519 key only (:mod:`kpconsole.ssh.hostkey`), so the only
  host-key algorithm offered is ``ssh-ed25519``.
* **User-key signatures**: Ed25519, ECDSA (also on security keys) and RSA only as
  ``rsa-sha2-256``/``rsa-sha2-512``. RSA keys registered with ``access grant`` keep working;
  what is refused is an ``ssh-rsa`` (SHA-1) signature made with them (:func:`accept_signatures`).
"""

from __future__ import annotations

import asyncssh

KEX = (
    "mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org", "curve448-sha512",
    "ecdh-sha2-nistp521", "ecdh-sha2-nistp384", "ecdh-sha2-nistp256",
    "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
)
CIPHERS = (
    "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
    "aes256-ctr", "aes192-ctr", "aes128-ctr",
)
MACS = (
    "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "umac-128-etm@openssh.com",
    "hmac-sha2-256", "hmac-sha2-512", "umac-128@openssh.com",
)
SIGNATURES = (
    "ssh-ed25519", "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com",
    "rsa-sha2-512", "rsa-sha2-256",
)


def server_options() -> dict[str, object]:
    """The algorithm keywords of :func:`asyncssh.create_server`."""
    return {"kex_algs": list(KEX), "encryption_algs": list(CIPHERS), "mac_algs": list(MACS),
            "signature_algs": list(SIGNATURES)}


def accept_signatures(key: asyncssh.SSHKey) -> bool:
    """Let ``key`` verify only the signatures of :data:`SIGNATURES`; False when none is left.

    asyncssh announces ``signature_algs`` to clients (``server-sig-algs``) but verifies a user's
    signature with any algorithm the key type knows, ``ssh-rsa`` (SHA-1) included. Its
    ``SSHKey.verify`` accepts only the algorithms in the key's ``all_sig_algorithms``, so this
    narrows that set on the one key object asyncssh goes on to verify the signature with.
    """
    allowed = {name.encode("ascii") for name in SIGNATURES} & set(key.all_sig_algorithms)
    key.all_sig_algorithms = allowed
    return bool(allowed)
