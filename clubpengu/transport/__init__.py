"""The edge: WebSocket and HTTP. Parses input, calls services, shapes replies."""
