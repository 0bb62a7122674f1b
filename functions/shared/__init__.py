"""Conventions every service shares: errors, auth context, ids, money, cursors, idempotency, AWS clients."""
