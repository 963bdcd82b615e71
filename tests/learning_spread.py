"""
The spread over seeds of every learning check, measured with the tests' own code, so that budgets and
thresholds are chosen from at least 10 seeds (see the docstrings of test_learning.py and
test_learning_policies.py, which quote the figures this writes).

    python tests/learning_spread.py --seeds 0 1 2 3 4 5 6 7 8 9 --jobs 2

Each run uses one torch thread in its own process; finished (check, seed) pairs already in the output file
are skipped, so an interrupted measurement resumes where it stopped. A table of the figures goes next to
the output file (``learning_spread.rst``), which docs/benchmarks.rst includes; ``--render`` only writes it.
"""

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: Where the figures go: the docs quote them.
DEFAULT_OUTPUT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "benchmarks", "learning_spread.jsonl"
)

#: Check name -> (module, function returning the mean evaluation return, its keyword arguments besides ``seed``).
#: The ``simba_pendulum_*`` variants are the alternatives measured before choosing the check's settings.
CHECKS = {
    # The check as it is (8 rollouts), and at the 12 rollouts it had before
    "simba_pendulum_annealed_8_rollouts": ("test_learning_policies", "simba_pendulum_return", {}),
    "simba_pendulum_annealed": ("test_learning_policies", "simba_pendulum_return", {"timesteps": 12 * 4 * 1024}),
    "simba_pendulum": ("test_learning_policies", "simba_pendulum_return", {"learning_rate": 1e-3, "timesteps": 12 * 4 * 1024}),
    "simba_pendulum_20_rollouts": (
        "test_learning_policies",
        "simba_pendulum_return",
        {"learning_rate": 1e-3, "timesteps": 20 * 4 * 1024},
    ),
    "gru_cue_recall": ("test_learning_policies", "cue_recall_return", {"recurrent": True}),
    "mlp_cue_recall": ("test_learning_policies", "cue_recall_return", {"recurrent": False}),
    "pendulum": ("test_learning", "pendulum_reward", {}),
    "cartpole": ("test_learning", "cartpole_reward", {}),
    # The mean reward (share of target tokens) of a tiny random LM after GRPO steps: GTR, and TRL's GRPO beside it
    "grpo_gtr_target_token": ("test_llm", "target_token_reward", {}),
    "grpo_target_token": ("test_llm", "target_token_reward", {"penalty": "none"}),
}


def run(check: str, seed: int) -> dict:
    import importlib

    import torch as th

    th.set_num_threads(1)
    module, function, kwargs = CHECKS[check]
    start = time.perf_counter()
    value = getattr(importlib.import_module(module), function)(seed=seed, **kwargs)
    return {"check": check, "seed": seed, "return": value, "seconds": round(time.perf_counter() - start, 1)}


def render(jsonl_path: str) -> str:
    """An rst table of the figures in ``jsonl_path``: per check, the seeds, median, worst and best return."""
    import numpy as np

    with open(jsonl_path) as file:
        rows = [json.loads(line) for line in file]
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - check",
        "     - seeds",
        "     - median",
        "     - worst",
        "     - best",
        "     - seconds per run (median)",
    ]
    for check in CHECKS:
        values = [row["return"] for row in rows if row["check"] == check]
        if not values:
            continue
        seeds = sorted(row["seed"] for row in rows if row["check"] == check)
        seconds = np.median([row["seconds"] for row in rows if row["check"] == check])
        lines += [
            f"   * - ``{check}``",
            f"     - {', '.join(map(str, seeds))}",
            f"     - {np.median(values):.2f}",
            f"     - {min(values):.2f}",
            f"     - {max(values):.2f}",
            f"     - {seconds:.0f}",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", nargs="+", default=list(CHECKS), choices=list(CHECKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"JSON-lines file (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--render", action="store_true", help="only write the rst table of the output file")
    args = parser.parse_args()
    table_path = os.path.splitext(args.output)[0] + ".rst"
    if args.render:
        with open(table_path, "w") as file:
            file.write(render(args.output))
        return
    done = set()
    if os.path.exists(args.output):
        with open(args.output) as file:
            done = {(row["check"], row["seed"]) for row in map(json.loads, file)}
    todo = [(check, seed) for check in args.checks for seed in args.seeds if (check, seed) not in done]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run, check, seed) for check, seed in todo]
        for future in as_completed(futures):
            row = {**future.result(), "machine": machine}
            print(json.dumps(row), flush=True)
            with open(args.output, "a") as file:
                file.write(json.dumps(row) + "\n")
    with open(table_path, "w") as file:
        file.write(render(args.output))


if __name__ == "__main__":
    main()
