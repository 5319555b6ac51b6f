"""The worker's memory while it sends every session as a calendar and as a spreadsheet
(API.md, "Calendars and spreadsheets are whole"): its peak after answers of a few
sessions, and again after the answers of all of them. And what the worker's other
requests wait meanwhile: session details asked one after another, alone and while
another client downloads the whole calendar or spreadsheet.

    ENTENTE_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/entente_bench \\
        python -m bench.streaming

Entente runs as the Dockerfile runs it (`entente serve`, one worker) on the benchmark
database; nothing is written there but the API key it is started with
(`bench.importing.server`). The figures are printed and written to
bench/results/<date>-streaming.json.
"""

import argparse
import http.client
import json
import os
import platform
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bench.importing import ROOT, peak_rss_mb, server

# A few sessions: those of the seed's last month (bench.seed ends 2026-11-30; the write
# mix of bench/run adds sessions in 2031).
FEW = "from=2026-11-01&to=2026-11-30"


# What begins each session's record in an answer of each format.
RECORD = {"ics": b"BEGIN:VEVENT", "csv": b"\n"}


def fetch(url: str, record: bytes) -> dict[str, Any]:
    """Read an answer to its end, keeping none of it: its bytes, the records it holds
    (`record` counted, the header line of a spreadsheet included) and its seconds."""
    started = time.perf_counter()
    size = records = 0
    carried = b""  # the end of the last chunk, where a record's start may be cut in two
    with urllib.request.urlopen(url, timeout=3600) as response:
        while chunk := response.read(1 << 16):
            size += len(chunk)
            records += (carried + chunk).count(record)
            carried = chunk[-(len(record) - 1) :] if len(record) > 1 else b""
    return {"bytes": size, "records": records, "seconds": round(time.perf_counter() - started, 1)}


def details_while(base: str, download: str | None, seconds: float = 8) -> dict[str, Any]:
    """Details of the first 100 sessions asked one after another for `seconds` on one
    connection, while another client reads `download` to its end (if given): how many
    were answered, and their p50, p99 and longest wait in ms."""
    with urllib.request.urlopen(f"{base}/api/v1/sessions?limit=100", timeout=60) as response:
        paths = [f"/api/v1/sessions/{s['id']}" for s in json.load(response)["items"]]
    downloading = threading.Thread(target=fetch, args=(download, b"\n"))
    if download is not None:
        downloading.start()
        time.sleep(1)  # the download under way
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname or "", address.port)
    waits: list[float] = []
    ends = time.perf_counter() + seconds
    while time.perf_counter() < ends:
        started = time.perf_counter()
        connection.request("GET", paths[len(waits) % len(paths)])
        connection.getresponse().read()
        waits.append((time.perf_counter() - started) * 1000)
    connection.close()
    if download is not None:
        downloading.join()  # to its end, before the next measure
    waits.sort()
    return {
        "answered": len(waits),
        "p50_ms": round(waits[len(waits) // 2], 1),
        "p99_ms": round(waits[int(len(waits) * 0.99)], 1),
        "max_ms": round(waits[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=os.environ.get("ENTENTE_DATABASE_URL"))
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("bench: give --url or set ENTENTE_DATABASE_URL")
    # Thousands of details from one client: no rate limit (as bench/run serves Entente).
    os.environ |= {"ENTENTE_RATE_LIMIT": "1000000000", "ENTENTE_ANONYMOUS_RATE_LIMIT": "1000000000"}
    figures: dict[str, Any] = {}
    with server(args.url) as (base, _, pid):
        sessions = f"{base}/api/v1/sessions"
        for format, marker in RECORD.items():
            figures[f"{format}_few"] = fetch(f"{sessions}?format={format}&{FEW}", marker)
        figures["peak_rss_mb_after_few"] = peak_rss_mb(pid)
        for format, marker in RECORD.items():
            figures[f"{format}_all"] = fetch(f"{sessions}?format={format}", marker)
            figures[f"peak_rss_mb_after_all_{format}"] = peak_rss_mb(pid)
        figures["details_alone"] = details_while(base, None)
        for format in RECORD:
            figures[f"details_during_{format}"] = details_while(base, f"{sessions}?format={format}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    run = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "database": args.url.split("://")[0],
        "results": figures,
    }
    print(json.dumps(run, indent=2))
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-streaming.json"
    out.write_text(json.dumps(run, indent=2) + "\n")


if __name__ == "__main__":
    main()
