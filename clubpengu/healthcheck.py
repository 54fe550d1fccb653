"""`python -m clubpengu.healthcheck`: the container health check (Dockerfile, compose.yaml).

Exit 0 while the node's database answers, whatever Redis does: a node whose Redis is down
answers /health with 503 `degraded` but still serves its own players, and an orchestrator
restarting every node because Redis blinked would turn a blip into an outage. The load
balancer applies the same rule (deploy/haproxy.cfg).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = response.read()
    except urllib.error.HTTPError as error:  # 503: degraded, but its body still says why
        body = error.read()
    except OSError:
        return 1
    try:
        return 0 if json.loads(body).get("database") == "ok" else 1
    except ValueError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
