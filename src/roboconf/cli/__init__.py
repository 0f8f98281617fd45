"""The ``roboconf`` command (composition root: the only place that configures logging)."""
