"""`make bench QUICK=1` runs end to end: a smoke test, with no assertion on timings."""

import json
import subprocess
import sys

from tools.bench import BASELINE, targets


def test_quick_bench_prints_the_ratio_table_and_writes_json(tmp_path):
    output = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert "p50 ×base" in header and "msg/s ×base" in header
    for name in [target.name for target in targets()] + [
        "websockets.broadcast",
        "chamber (tuned), Redis layer, 2 processes",
    ]:
        assert name in result.stdout
    record = json.loads(output.read_text())
    assert record["command"] == "make bench QUICK=1"
    assert record["results"][BASELINE]["samples"] > 0
    for consumers in ("stock", "tuned"):
        for history in ("on", "off"):  # what storing the rooms' history costs the fan-out
            assert (
                record["fanout"][f"chamber ({consumers}), in-memory layer, 1 process, history {history}"]["rounds"] == 2
            )
    for consumers in ("stock", "tuned"):  # one room's sustained rate, and how much of it was stored (issue 22)
        on = record["room_rate"][f"chamber ({consumers}), in-memory layer, 1 process, history on"]
        assert on["messages_per_s"] > 0 and on["stored"] is not None and on["said"] == 10
        off = record["room_rate"][f"chamber ({consumers}), in-memory layer, 1 process, history off"]
        assert off["messages_per_s"] > 0 and off["stored"] is None
    assert "one room, every member reading" in result.stdout and "stored" in result.stdout
    assert "[bench] round 1/2 done" in result.stderr, "shows progress"
    assert "CPU ×base" in header
    goals = result.stdout.split("ratio to raw websockets", 1)[1]  # stock and tuned beside the goals, and the floor
    for figure in ("p50 latency", "throughput, 100 connections", "memory per idle connection", "fan-out to 100"):
        assert figure in goals
    assert "server CPU per message" in goals and "≤ 1.6" in goals and "raw ASGI floor" in goals
    for consumers in ("stock", "tuned"):
        assert record["results"][f"echo consumer ({consumers}), uvicorn"]["cpu_us_per_message"] > 0
