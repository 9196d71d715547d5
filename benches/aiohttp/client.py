#!/usr/bin/env python3
"""aiohttp, the contender weft's users come from, in the http_client benchmark (issue 19).

Started once by `benches/benches/http_client.rs` as `python3 client.py [CA_PEM]` and kept
running, so its connection pool stays warm across turns exactly like the Rust clients' pools.
It reads one turn per line on stdin:

    <url> <concurrency> <seconds> <expected body length>

and answers one JSON line on stdout per turn:

    {"requests": N, "elapsed": S, "p50_us": A, "p99_us": B}      or      {"error": "..."}

A turn runs <concurrency> tasks sharing one ClientSession (TCPConnector limit=64) that each
GET <url> and read the whole body, until <seconds> have passed (a request in flight at the
deadline finishes). `https` URLs are verified against CA_PEM. Stdin closing ends the process.
"""

import asyncio
import json
import math
import ssl
import sys
import time

import aiohttp


def quantile(sorted_values, q):
    """Nearest-rank quantile, the same rule as weft_benches::rounds::quantile."""
    if not sorted_values:
        return 0.0
    rank = min(max(math.ceil(q * len(sorted_values)), 1), len(sorted_values))
    return sorted_values[rank - 1]


async def worker(session, url, deadline, length, latencies):
    while True:
        t0 = time.perf_counter()
        if t0 >= deadline:
            return
        async with session.get(url) as resp:
            body = await resp.read()
        if len(body) != length:
            raise RuntimeError(f"wrong body length {len(body)}, expected {length}")
        latencies.append((time.perf_counter() - t0) * 1e6)


async def turn(session, url, conc, secs, length):
    latencies = []
    start = time.perf_counter()
    deadline = start + secs
    await asyncio.gather(
        *(worker(session, url, deadline, length, latencies) for _ in range(conc))
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "elapsed": elapsed,
        "p50_us": quantile(latencies, 0.5),
        "p99_us": quantile(latencies, 0.99),
    }


async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[1]) if len(sys.argv) > 1 else None
    connector = aiohttp.TCPConnector(limit=64, limit_per_host=64, ssl=ctx)
    async with aiohttp.ClientSession(connector=connector) as session:
        while True:
            # Between turns only: blocking the loop here costs nothing measured.
            line = sys.stdin.readline()
            if not line:
                return
            try:
                url, conc, secs, length = line.split()
                out = await turn(session, url, int(conc), float(secs), int(length))
            except Exception as e:  # reported to the benchmark, which drops aiohttp
                out = {"error": f"{type(e).__name__}: {e}"}
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
