"""The realtime side: connections, rooms and the event bus. No Starlette imports here."""
