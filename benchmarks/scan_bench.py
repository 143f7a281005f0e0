"""Scanner benchmark: how long `python -m mapsite.scan` takes on 10,000 lines of alias-heavy code.

The target (issue 12) is under a second on this machine. Generates a program of 10,000 lines
that reaches PyTorch through import aliases, re-bound names, attribute chains, nn.Module
subclasses, tensors and possible tensor methods, then times
  1. the scan alone, in this process: parsing and resolving, best of 5;
  2. the whole command, as a user runs it (interpreter start, catalogue, report), best of 5,
     with --json and with the default terminal table.
A benchmark, not a test: it prints the figures and never fails on them.

    .venv/bin/python benchmarks/scan_bench.py [--lines N] [--mappings FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
from mapsite import scan  # noqa: E402

HEADER = '''\
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import nn as layers, optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset
import numpy as np

'''

# One block of about 40 lines; {i} makes every name unique.
BLOCK = '''\
class Block{i}(nn.Module):
    def __init__(self, width: int = 8):
        super().__init__()
        self.fc = layers.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        self.drop = nn.Dropout(0.1)
        self.register_buffer("scale{i}", torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = nn.functional.relu(self.fc(x))
        hidden = self.drop(self.norm(hidden)).view(x.size(0), -1)
        return F.softmax(hidden * self.scale{i}, dim=-1)


act{i} = F.gelu
weights{i} = torch.randn(4, 8)
merged{i} = torch.cat([weights{i}, weights{i}]).permute(1, 0)


def step{i}(model, batch, labels, optimizer=None):
    optimizer = optimizer or optim.SGD(model.parameters(), lr=0.01)
    scheduler = StepLR(optimizer, step_size=10)
    with torch.no_grad():
        logits = model(batch)
    loss = F.cross_entropy(act{i}(logits), labels)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    if labels is None:
        labels = torch.zeros(4, dtype=torch.long)
    values = [t.view(-1) for t in batch if t is not None]
    total = sum(v.sum().item() for v in values)
    return loss.item(), total, batch.to("cpu"), np.mean([total]), os.sep


F{i} = F
'''


def program(lines: int) -> str:
    """Whole blocks, then one-line statements up to exactly `lines` lines."""
    parts, count, i = [HEADER], HEADER.count("\n"), 0
    while count + BLOCK.count("\n") <= lines:
        block = BLOCK.format(i=i)
        parts.append(block)
        count += block.count("\n")
        i += 1
    parts.extend(f"tail{j} = F.relu(torch.randn(2, 2)).view(-1)\n" for j in range(lines - count))
    return "".join(parts)


def best(times: int, run) -> float:
    results = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        results.append(time.perf_counter() - started)
    return min(results)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=10_000)
    p.add_argument("--mappings", default=str(scan.DEFAULT_MAPPINGS),
                   help="catalogue to use (default: the local build; the fixture in tests/data/scan if absent)")
    args = p.parse_args()
    mappings = Path(args.mappings)
    if not mappings.is_file():
        mappings = ROOT / "tests" / "data" / "scan" / "mappings.json"
    catalogue = scan.load_catalogue(mappings)
    source = program(args.lines)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.py"
        path.write_text(source, encoding="utf-8")
        parse = best(5, lambda: __import__("ast").parse(source))
        uses = []
        scan_time = best(5, lambda: uses.append(len(scan.scan_source(source, str(path), catalogue.tensor_methods,
                                                                       catalogue.known_apis))))
        command = [sys.executable, "-m", "mapsite.scan", "--mappings", str(mappings), str(path)]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "_ext")}
        output = {}

        def run(*extra: str) -> None:
            result = subprocess.run(command + list(extra), capture_output=True, text=True, env=env, check=True)
            output["report"] = result.stdout

        table = best(5, lambda: run())
        whole = best(5, lambda: run("--json"))
    report = json.loads(output["report"])["summary"]
    print(f"program: {args.lines} lines, {len(source) // 1024} KiB; catalogue: {mappings} ({len(catalogue.entries)} mappings)")
    print(f"found:   {uses[0]} uses of PyTorch APIs; {report['line']}")
    print(f"scan in-process (ast.parse + resolution), best of 5: {scan_time:.3f} s "
          f"(for comparison, a plain ast.parse with the garbage collector on: {parse:.3f} s)")
    print(f"whole command, best of 5: {whole:.3f} s with --json, {table:.3f} s with the terminal table")
    print("target: under 1 s for 10,000 lines:", "met" if max(whole, table) < 1 else "NOT met")


if __name__ == "__main__":
    main()
