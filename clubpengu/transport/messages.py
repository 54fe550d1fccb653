"""Client frames as pydantic models: snake_case in Python, camelCase on the wire.

Each model is named after its wire `type`. Unknown extra fields are ignored so that
clients may add fields (a client version, say) without breaking older servers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Frame(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Ping(Frame):
    """`{"type":"ping"}` -> `{"type":"pong","ts":<ms>}`: a client-side keepalive/latency probe."""
