"""督办 (supervision): the escalation of late cases by a rule table, the numbered 督办单, the
leaders' urge list; and the handler's phone app (an installable, offline-capable PWA)."""
