"""Master keys in a key file: one base64-encoded 32-byte key per line, the first line current.

Rotation prepends a new line (:func:`add_master_key`); after ``portraitmatch keys rotate`` has
re-wrapped every data key, the old lines can be deleted. The file must be readable by its owner only:
outside development a looser mode is refused.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from portraitmatch.errors import ConfigurationError
from portraitmatch.privacy import LocalMasterKeys, master_key_id

KEY_BYTES = 32


def parse_master_keys(text: str, *, source: str) -> list[bytes]:
    """Keys from key-file text (or an environment value: entries split by commas or whitespace)."""
    keys: list[bytes] = []
    for line in text.replace(",", "\n").splitlines():
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            # Accept standard and URL-safe alphabets, padded or not.
            normal = entry.replace("-", "+").replace("_", "/")
            key = base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigurationError(f"{source}: an entry is not base64") from None
        if len(key) != KEY_BYTES:
            raise ConfigurationError(
                f"{source}: a master key must decode to {KEY_BYTES} bytes, got {len(key)}"
            )
        keys.append(key)
    if not keys:
        raise ConfigurationError(f"{source}: no master key found")
    return keys


def check_private_file(path: Path, *, strict: bool) -> None:
    """Refuse (strict) a secret file that its group or others can read."""
    mode = path.stat().st_mode
    if strict and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} is readable by group/others (mode {stat.filemode(mode)}); chmod 600 it"
        )


def load_master_keys(path: Path, *, strict: bool) -> LocalMasterKeys:
    if not path.is_file():
        raise ConfigurationError(
            f"master key file {path} does not exist (create one: portraitmatch keys init)"
        )
    check_private_file(path, strict=strict)
    return LocalMasterKeys(parse_master_keys(path.read_text(), source=str(path)))


def new_master_key_line() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def add_master_key(path: Path) -> str:
    """Prepend a fresh master key (it becomes current); create the file if needed. Returns its id."""
    line = new_master_key_line()
    old = path.read_text() if path.exists() else ""
    write_private_file(path, (line + "\n" + old).encode())
    return master_key_id(base64.b64decode(line))


def write_private_file(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 (a crash leaves the old file, never half a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
