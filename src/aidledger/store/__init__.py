"""Storage: schema, append-only triggers, dialect settings and migrations. Knows SQL, not aid."""
