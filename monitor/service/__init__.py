"""The long-running service: the runtime (scheduler, polling and delivery cycles, start/stop)
and its HTTP listener (health, readiness, metrics, Atom feeds)."""
