"""The audit store: every enable attempt, recorded before COC is called and finished after.

- ``store``: :class:`AuditStore` and the conflicts :meth:`AuditStore.begin` raises;
- ``records``: what a record holds (:class:`Attempt`, :class:`AuditRecord`, :class:`Outcome`);
- ``schema`` and ``migrations/``: the table, and the Alembic revisions that create it;
- ``database_url`` and ``engine``: ``DATABASE_URL`` turned into a shared async engine;
- ``cli``: ``python -m bot audit``.
"""

from bot.audit.records import Attempt, AuditRecord, Outcome
from bot.audit.store import AuditStore, DuplicateSubmission, TaskInFlight

__all__ = ["Attempt", "AuditRecord", "AuditStore", "DuplicateSubmission", "Outcome", "TaskInFlight"]
