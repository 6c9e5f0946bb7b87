"""Machinery that is not city management: text checks, times, and (with the structure issue)
the database engine and sessions, group commit, caches, the event bus, media storage, rate
limits and observability. `kit` imports no domain."""
