"""Messages, their codec and routing topology, and the transports (embedded router, AMQP)."""
