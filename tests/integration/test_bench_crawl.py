"""The bench's crawl-shaped metering row (benchmarks/hotpath.crawl_consumer, issue 16): a crawler's deliveries, each of
a different asset, make the consumer write new aggregate items per event, where deliveries of one asset share them.
Run in a subprocess: the bench harness starts its own moto server and points this process's AWS clients at it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json
from benchmarks import hotpath
from benchmarks.harness import Harness, moto_server
with moto_server() as endpoint:
    h = Harness(endpoint)
    s = h.scenario()
    one = hotpath.deliveries_and_consumer(h, s, 40)
    crawl = hotpath.crawl_consumer(h, s, 40)
print(json.dumps({"one": one["write_items_per_1000"], "crawl": crawl["write_items_per_1000"], "events": crawl["events"]}))
"""


def test_crawl_shaped_deliveries_write_more_per_event_than_one_assets() -> None:
    got = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240, check=True, cwd=ROOT
    )
    out = json.loads(got.stdout.strip().splitlines()[-1])
    # every crawl event was metered, and each wrote its own aggregate items: several times one asset's amortised ones
    assert out["events"] == 40
    assert out["crawl"] >= 5_000 and out["crawl"] > 3 * out["one"]
