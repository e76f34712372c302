"""socket.io transport: validate, authorize, call one domain rule, ack."""
