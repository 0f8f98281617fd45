"""The agent: the imperative shell around the life cycle, one per machine (scoped instance)."""
