"""Secrets read from files or systemd credentials, never from the TOML config."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class SecretError(Exception):
    """A secret file is missing, unreadable or empty."""


def credential_path(path: Path) -> Path:
    """Resolve a bare credential name in ``$CREDENTIALS_DIRECTORY`` (systemd LoadCredential=)."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and not path.is_absolute() and len(path.parts) == 1:
        return Path(creds) / path
    return path


def read_secret(path: Path) -> str:
    resolved = credential_path(path)
    try:
        value = resolved.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise SecretError(f"cannot read secret file {resolved}: {err.strerror}") from err
    if not value:
        raise SecretError(f"secret file {resolved} is empty")
    return value


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """Read the secret at ``path``, creating it (mode 0600) with a random value when absent."""
    resolved = credential_path(path)
    if not resolved.exists():
        resolved.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = secrets.token_urlsafe(nbytes)
        try:
            fd = os.open(resolved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another service created it first
            return read_secret(resolved)
        try:
            os.write(fd, value.encode("ascii"))
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return read_secret(resolved)


def station_secret(configured: Path | None, default: Path) -> str:
    """A configured secret file must exist; the default one is created on first use."""
    return read_secret(configured) if configured else ensure_secret(default)
