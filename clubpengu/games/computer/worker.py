"""A computer worker: a process of its own that reads move requests on stdin and writes the
moves on stdout, for `clubpengu.services.matches.computer_pool`.

    python -m clubpengu.games.computer.worker [nice]

A frame each way is a 4-byte big-endian length and a pickle: `(request_id, (game_id, state,
seat, level, seed))` in, `(request_id, True, move)` or `(request_id, False, error)` out. It
imports the rules alone (not the node, the driver or the models) and exits at the end of
its input, which is how the node lets it go.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from typing import BinaryIO

from clubpengu.games.computer.opponent import choose_move

HEADER = struct.Struct("!I")


def frame(payload: object) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until the input ends (or is cut mid-frame)."""
    while True:
        header = requests.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        (size,) = HEADER.unpack(header)
        body = requests.read(size)
        if len(body) < size:
            return
        request_id, args = pickle.loads(body)
        try:
            reply: tuple[int, bool, object] = (request_id, True, choose_move(*args))
        except Exception as error:
            reply = (request_id, False, f"{type(error).__name__}: {error}")
        replies.write(frame(reply))
        replies.flush()


def main() -> None:
    # The node stops its workers itself, by ending their input, once its matches are put
    # away: a SIGINT meant for it (a Ctrl-C) must not end them first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if len(sys.argv) > 1:
        os.nice(int(sys.argv[1]))
    # The replies keep the real stdout; anything else printed goes to stderr, where it
    # cannot break a frame.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
