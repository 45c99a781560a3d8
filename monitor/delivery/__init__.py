"""Delivery: digests composed from placed matches, queued durably and sent (outbox), Atom files
of each topic, and the alerts sent when no feed can be read (source health)."""
