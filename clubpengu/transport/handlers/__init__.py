"""WebSocket handlers, one module per area; each registers its routes on the Router."""
