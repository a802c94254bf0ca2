"""The hub: shared domain, plumbing (settings, database, jobs, outbox, auth) and the HTTP app."""
