"""Bearer tokens revoked before they expire, listed in one mounted file.

The file (``CALLCENTER_JWT_REVOCATIONS_FILE``, a ConfigMap or Secret mounted in every
service) is JSON::

    {"tokens": ["<jti>", ...],
     "subjects": [{"tenant": "acme", "subject": "agent-7",
                   "before": "2026-11-23T01:00:00Z"}]}

A token is refused when its ``jti`` is listed, or when its subject in its tenant is
listed with a time later than the token's ``iat`` (every token issued to it until
then: a stolen laptop, a dismissed agent). Each service looks at the file at most once
a second and reads it again when it changed: one edit revokes across the platform.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)


class SubjectRevocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str
    subject: str
    before: AwareDatetime


class RevocationList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: frozenset[str] = frozenset()
    subjects: list[SubjectRevocation] = []

    def revoked_before(self) -> dict[tuple[str, str], float]:
        """(tenant, subject) -> tokens issued before this time are revoked."""
        latest: dict[tuple[str, str], float] = {}
        for entry in self.subjects:
            key = (entry.tenant, entry.subject)
            latest[key] = max(latest.get(key, 0.0), entry.before.timestamp())
        return latest


class Revocations:
    """The revocation list of a file, read again when the file changes."""

    def __init__(self, path: Path, check_interval_seconds: float = 1.0) -> None:
        self.path = path
        self.check_interval_seconds = check_interval_seconds
        self._version = self._file_version()
        self._apply(self._read())  # a missing or malformed file at start is an error
        self._checked_at = time.monotonic()

    def is_revoked(self, tenant: str, subject: str, token_id: str | None, issued_at: float) -> bool:
        self._reload_if_changed()
        if token_id is not None and token_id in self._tokens:
            return True
        before = self._subjects.get((tenant, subject))
        return before is not None and issued_at < before

    def _apply(self, revocations: RevocationList) -> None:
        self._tokens = revocations.tokens
        self._subjects = revocations.revoked_before()

    def _read(self) -> RevocationList:
        return RevocationList.model_validate_json(self.path.read_bytes())

    def _file_version(self) -> tuple[int, int, int]:
        # A mounted ConfigMap is updated by swapping a symlink: stat follows it.
        stat = os.stat(self.path)
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.check_interval_seconds:
            return
        self._checked_at = now
        try:
            version = self._file_version()
            if version == self._version:
                return
            revocations = self._read()
        except (OSError, ValidationError) as error:
            # Half-written or briefly gone: keep enforcing the last good list.
            log.error("revocation list %s not reloaded: %s", self.path, error)
            return
        self._version = version
        self._apply(revocations)
        log.info(
            "revocation list reloaded: %d tokens, %d subjects",
            len(self._tokens),
            len(self._subjects),
        )


def revocations_from(path: Path | None) -> Revocations | None:
    return Revocations(path) if path is not None else None
