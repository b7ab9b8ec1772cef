"""A fixed amount of work for ``valgrind --tool=callgrind``, which counts instructions instead of
timing them, so builds compare exactly on a shared machine.

Run each workload and the idle run, then subtract and divide by 5 (the runs per workload)::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benches/instructions.py none
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benches/instructions.py stream
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benches/instructions.py parse

``stream`` feeds write_file (320 lines) in token-sized deltas; ``parse`` parses 256 KB of
tool-call-heavy text at once; ``none`` builds the workloads and warms up, nothing more."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import minimax_parser as mp

from workloads import TOOLS, token_deltas, tool_heavy, write_file_response

RUNS = 5
DELTAS = token_deltas(write_file_response(320))
HEAVY = tool_heavy(1 << 18)


def stream() -> None:
    p = mp.StreamParser(tools=TOOLS)
    for d in DELTAS:
        p.feed(d)
    p.finish()


def parse() -> None:
    mp.parse(HEAVY, tools=TOOLS)


def idle() -> None:
    pass


def main() -> None:
    stream()
    parse()
    work = {"stream": stream, "parse": parse, "none": idle}[sys.argv[1]]
    for _ in range(RUNS):
        work()


if __name__ == "__main__":
    main()
