#!/usr/bin/env python3
"""What hostile HTTP clients cost a node (docs/performance.md, "The edge"), against
`clubpengu serve` on the embedded database:

1. bodies: `--uploads` parallel uploads of `--upload-mb` MB each to `/auth/verify`, half
   chunked (no Content-Length), half declaring their length; the server's resident
   memory is sampled every 50 ms, and each upload records its answer and how much it
   could send before the answer came;
2. slowloris: `--slow` connections that each send one header line every
   `--slow-interval` seconds for `--slow-seconds`; how many the server still holds open
   over time (HTTP_HEADER_TIMEOUT, 10 s by default, should end them).

    .venv/bin/python scripts/bench_edge.py --uploads 4 --upload-mb 300 --slow 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ProcessSampler, serve, write_json

CHUNK = 64 * 1024


async def _upload(port: int, megabytes: int, chunked: bool) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    size = megabytes * 1024 * 1024
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    writer.write(f"POST /auth/verify HTTP/1.1\r\nHost: bench\r\n{framing}\r\n\r\n".encode())
    answer = asyncio.create_task(reader.readline())
    sent = 0
    started = time.monotonic()
    with contextlib.suppress(OSError):
        while sent < size and not answer.done():
            piece = b"x" * CHUNK
            writer.write(b"%x\r\n%s\r\n" % (CHUNK, piece) if chunked else piece)
            await writer.drain()
            sent += CHUNK
    try:
        async with asyncio.timeout(30):
            status_line = await answer
    except (TimeoutError, OSError):
        status_line = b""
    writer.close()
    return {
        "chunked": chunked,
        "status": int(status_line.split()[1]) if status_line else None,
        "sent_kb_before_answer": sent // 1024,
        "seconds": round(time.monotonic() - started, 3),
    }


async def _sample_rss(sampler: ProcessSampler, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], sampler.rss_mb())
        await asyncio.sleep(0.05)


async def bodies(port: int, pid: int, uploads: int, megabytes: int) -> dict[str, Any]:
    sampler = ProcessSampler(pid)
    before = sampler.rss_mb()
    peak = [before]
    stop = asyncio.Event()
    watcher = asyncio.create_task(_sample_rss(sampler, peak, stop))
    results = await asyncio.gather(
        *(_upload(port, megabytes, chunked=i % 2 == 0) for i in range(uploads))
    )
    await asyncio.sleep(0.5)
    stop.set()
    await watcher
    return {
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak[0], 1),
        "rss_after_mb": round(sampler.rss_mb(), 1),
        "uploads": results,
    }


async def _trickle(port: int, interval: float, seconds: float, ended: list[float]) -> None:
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        ended.append(0.0)
        return
    writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\n")
    try:
        number = 0
        while time.monotonic() - started < seconds:
            writer.write(b"X-Slow-%d: 1\r\n" % number)
            await writer.drain()
            number += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    if not await reader.read(1024):
                        raise ConnectionResetError
    except OSError:
        ended.append(time.monotonic() - started)
        return
    finally:
        writer.close()
    ended.append(float("inf"))  # still open when the run ended


async def slowloris(port: int, count: int, interval: float, seconds: float) -> dict[str, Any]:
    ended: list[float] = []
    await asyncio.gather(*(_trickle(port, interval, seconds, ended) for _ in range(count)))
    marks = [5.0, 10.0, 12.0, 15.0, seconds]
    return {
        "connections": count,
        "interval_s": interval,
        "seconds": seconds,
        "still_open_at": {f"{mark:g}s": sum(t > mark for t in ended) for mark in marks},
        "held_to_the_end": sum(t == float("inf") for t in ended),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    env = {"HTTP_HEADER_TIMEOUT": args.header_timeout}
    with serve(env) as server:
        pid = server.process.pid
        figures = {"bodies": await bodies(server.port, pid, args.uploads, args.upload_mb)}
        figures["slowloris"] = await slowloris(
            server.port, args.slow, args.slow_interval, args.slow_seconds
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--upload-mb", type=int, default=300)
    parser.add_argument("--slow", type=int, default=1000)
    parser.add_argument("--slow-interval", type=float, default=2.0)
    parser.add_argument("--slow-seconds", type=float, default=30.0)
    parser.add_argument("--header-timeout", default="10s")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = asyncio.run(main_async(args))
    bodies_ = figures["bodies"]
    print(
        f"uploads: RSS {bodies_['rss_before_mb']} MB before, peak {bodies_['rss_peak_mb']} MB, "
        f"{bodies_['rss_after_mb']} MB after"
    )
    for upload in bodies_["uploads"]:
        print(f"  {upload}")
    print(f"slowloris: {figures['slowloris']}")
    write_json(args.json, {"args": vars(args) | {"json": str(args.json)}, **figures})


if __name__ == "__main__":
    main()
