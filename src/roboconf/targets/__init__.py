"""Target handlers: where machines come from (in-memory, local, docker, clouds...)."""
