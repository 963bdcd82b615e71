"""
Throughput of the Craftax adapter (the ``craftax`` extra) against the raw JAX environment, and of training on it.

Three figures per environment count, on one JAX device (CPU unless ``--device`` names another platform):

* ``raw``: the batched JAX step alone (:class:`~sb3_gtr.craftax.vec_env.CraftaxBatch`'s jit-compiled, vmapped step
  with auto-reset), random actions drawn on the device, the result waited for but never copied to the host: the
  ceiling any adapter can reach;
* ``adapter``: :class:`~sb3_gtr.craftax.vec_env.CraftaxVecEnv` stepped through SB3's ``VecEnv`` API with random NumPy
  actions (action check, one host copy per step, the info dictionaries): what SB3's rollout loop sees. The issue's
  target is at least 80% of ``raw`` at 1024 environments;
* ``training``: ``RecurrentGTRPPO("MlpLnGruPolicy")`` with the CPU file's settings
  (``hyperparams/gtr_ppo_recurrent_craftax_cpu.yml``), environment steps per second of ``learn()`` over
  ``--train-rollouts`` rollouts, after one rollout that compiles and warms up.

Compilation is excluded from every figure (one warm-up step or rollout first). Raw and adapter are timed in
alternation, ``--repeats`` times each, and the medians reported. The figures go to ``<output>.json`` and
``<output>.rst`` (default ``docs/benchmarks/craftax_throughput``), which :doc:`/guide/craftax` quotes. Both are
rewritten after each figure (what is still to measure listed as ``pending``), and the same command run again keeps
the figures a stopped run left with the same settings (environment, device, ``--steps``, ``--repeats``) and measures
only the others.

Usage::

    python -m sb3_gtr.benchmarks.craftax_throughput --num-envs 8 1024 --steps 100 --repeats 3
"""

import argparse
import datetime
import json
import pathlib
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

from sb3_gtr.benchmarks.arguments import BadArgument, error_text, output_prefix, positive_int
from sb3_gtr.benchmarks.reports import fixed, rst_grid_table
from sb3_gtr.benchmarks.runner import load_average, machine_info

DOCS_PREFIX = pathlib.Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "craftax_throughput"
#: The issue's target: the adapter keeps at least this share of the raw steps per second at 1024 environments.
TARGET_SHARE = 0.80
TARGET_NUM_ENVS = 1024


def _device(platform: Optional[str]) -> Any:
    import jax

    if platform is None:
        return jax.devices()[0]
    try:
        return jax.devices(platform)[0]
    except RuntimeError as error:
        raise BadArgument(f"--device {platform!r}: JAX has no such platform here ({error})") from error


def time_raw(env_id: str, num_envs: int, steps: int, device: Any, reset_ratio: int = 1) -> float:
    """:return: Environment steps per second of the batched JAX step alone (random actions drawn on the device)"""
    import jax

    from sb3_gtr.craftax.vec_env import CraftaxBatch

    batch = CraftaxBatch(env_id, num_envs, device=device, reset_ratio=reset_ratio)
    key = batch.key(0)
    _, states, key = batch._reset(key)
    n_actions = batch.n_actions

    @jax.jit
    def random_step(key: jax.Array, states: Any) -> tuple:
        key, action_key = jax.random.split(key)
        actions = jax.random.randint(action_key, (num_envs,), 0, n_actions, dtype=jax.numpy.int32)
        host, _, states, key = batch._step_all(key, states, actions)
        return host, states, key

    host, states, key = random_step(key, states)  # compile
    jax.block_until_ready(host)
    start = time.perf_counter()
    for _ in range(steps):
        host, states, key = random_step(key, states)
    jax.block_until_ready(host)
    return steps * num_envs / (time.perf_counter() - start)


def time_adapter(env_id: str, num_envs: int, steps: int, device: Any, reset_ratio: int = 1) -> float:
    """:return: Environment steps per second of :class:`CraftaxVecEnv` through the ``VecEnv`` API (random actions)"""
    import numpy as np

    from sb3_gtr.craftax.vec_env import CraftaxVecEnv

    env = CraftaxVecEnv(env_id, num_envs, seed=0, device=device, reset_ratio=reset_ratio)
    env.reset()
    rng = np.random.default_rng(0)
    n_actions = env.action_space.n
    actions = [rng.integers(0, n_actions, num_envs) for _ in range(steps + 1)]
    env.step(actions[0])  # compile
    start = time.perf_counter()
    for step in range(1, steps + 1):
        env.step(actions[step])
    elapsed = time.perf_counter() - start
    env.close()
    return steps * num_envs / elapsed


def time_training(
    env_id: str, num_envs: int, rollouts: int, device_name: Optional[str], reset_ratio: int = 1
) -> dict[str, float]:
    """
    :return: Environment steps per second of ``RecurrentGTRPPO.learn()`` with the CPU file's settings (one warm-up
        rollout first, which compiles), and the rollout size
    """
    from sb3_gtr import RecurrentGTRPPO
    from sb3_gtr.craftax.vec_env import make_craftax_vec_env
    from sb3_gtr.demo import read_hyperparams

    config_path = pathlib.Path(__file__).resolve().parents[1] / "hyperparams" / "gtr_ppo_recurrent_craftax_cpu.yml"
    config = read_hyperparams(f"sb3_gtr/{env_id}", path=str(config_path), ignore=("callback",))
    # The entry's constructor arguments; the batch follows the number of environments here
    kwargs = {key: value for key, value in config.items() if key not in ("n_envs", "n_timesteps", "policy", "batch_size")}
    n_steps = config["n_steps"]
    batch_size = max(n_steps * num_envs // 4, 1)  # 4 minibatches per epoch, as the CPU file at its 16 environments
    env = make_craftax_vec_env(env_id, num_envs, seed=0, device=device_name, reset_ratio=reset_ratio)
    model = RecurrentGTRPPO(config["policy"], env, batch_size=batch_size, seed=0, **kwargs)
    rollout = n_steps * num_envs
    model.learn(rollout)  # compile and warm up
    start = time.perf_counter()
    model.learn(rollouts * rollout, reset_num_timesteps=False)
    elapsed = time.perf_counter() - start
    env.close()
    return {"steps_per_second": rollouts * rollout / elapsed, "rollout_steps": rollout, "torch_device": str(model.device)}


def _settings(env_id: str, steps: int, repeats: int, device: Any, reset_ratio: int) -> dict[str, Any]:
    """:return: What a row's figures depend on besides its number of environments (a row is reused only if equal)"""
    return {"env_id": env_id, "jax_device": str(device), "steps": steps, "repeats": repeats, "reset_ratio": reset_ratio}


def _previous(prefix: Optional[pathlib.Path]) -> dict[str, Any]:
    """:return: The report an interrupted run left at ``prefix`` (empty if none)"""
    if prefix is None or not prefix.with_suffix(".json").is_file():
        return {}
    return json.loads(prefix.with_suffix(".json").read_text())


def run(
    env_id: str, num_envs: Sequence[int], steps: int, repeats: int, train_envs: int, train_rollouts: int,
    platform: Optional[str], prefix: Optional[pathlib.Path] = None, reset_ratio: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """
    :param prefix: Where the report is written (``.json`` and ``.rst``) after each figure, so that a run stopped in a
        slow cell keeps the cells before it; the figures of a report already there with the same settings are kept and
        not measured again (``None``: write nothing)
    :param reset_ratio: Environments per fresh world built at each step (:class:`~sb3_gtr.craftax.vec_env.CraftaxVecEnv`)
    :return: The report: per environment count the raw and adapter figures, and the training figure
    """
    import jax

    device = _device(platform)
    settings = _settings(env_id, steps, repeats, device, reset_ratio)
    previous = _previous(prefix)
    same = all(previous.get(key) == value for key, value in settings.items())
    kept_rows = {row["num_envs"]: row for row in previous.get("rows", [])} if same else {}
    report = {
        **settings,
        "jax_version": jax.__version__,
        "rows": [],
        "training": None,
        "pending": [*map(str, num_envs), *(["training"] if train_rollouts > 0 else [])],
        "target": {"share": TARGET_SHARE, "num_envs": TARGET_NUM_ENVS},
        "command": " ".join(["python -m sb3_gtr.benchmarks.craftax_throughput", *map(shlex.quote, sys.argv[1:])]),
        "machine": machine_info(),
    }

    def figure_done(name: str) -> None:
        report["pending"].remove(name)
        report["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        report["load_average"] = load_average()
        if prefix is not None:
            write_report(report, prefix)

    for count in num_envs:
        if count in kept_rows:
            row = kept_rows[count]
            print(f"{count} envs: kept from {prefix.with_suffix('.json')}", flush=True)
        else:
            raw, adapter = [], []
            for _ in range(repeats):  # in alternation, so that a shared machine's drifts hit both alike
                raw.append(time_raw(env_id, count, steps, device, reset_ratio))
                adapter.append(time_adapter(env_id, count, steps, device, reset_ratio))
            row = {"num_envs": count, "raw": raw, "adapter": adapter, "raw_median": statistics.median(raw),
                   "adapter_median": statistics.median(adapter)}  # fmt: skip
            row["share"] = row["adapter_median"] / row["raw_median"]
            row["load_average"] = load_average()
        report["rows"].append(row)
        print(f"{count} envs: raw {row['raw_median']:,.0f}, adapter {row['adapter_median']:,.0f} steps/s "
              f"({row['share']:.0%})", flush=True)  # fmt: skip
        figure_done(str(count))
    if train_rollouts > 0:
        training = previous.get("training") if same else None
        if not training or (training["num_envs"], training["rollouts"]) != (train_envs, train_rollouts):
            training = {"num_envs": train_envs, "rollouts": train_rollouts,
                        **time_training(env_id, train_envs, train_rollouts, platform, reset_ratio)}  # fmt: skip
        report["training"] = training
        print(f"training at {train_envs} envs: {training['steps_per_second']:,.0f} steps/s", flush=True)
        figure_done("training")
    return report


def rst_lines(report: dict[str, Any]) -> list[str]:
    """:return: The report's tables as reStructuredText"""
    rows = []
    for row in report["rows"]:
        target = ""
        if row["num_envs"] == report["target"]["num_envs"]:
            target = "met" if row["share"] >= report["target"]["share"] else "missed"
        rows.append([str(row["num_envs"]), fixed(row["raw_median"], 0), fixed(row["adapter_median"], 0),
                     f"{row['share']:.0%}", target])  # fmt: skip
    ratio = report.get("reset_ratio", 1)
    worlds = "a fresh world per environment per step" if ratio == 1 else f"a fresh world per {ratio} environments per step"
    lines = [f"``{report['env_id']}`` on JAX device ``{report['jax_device']}``, {worlds} (``reset_ratio={ratio}``), "
             "environment steps per second (median of "
             f"{report['repeats']} alternated runs of {report['steps']} steps; target: adapter >= "
             f"{report['target']['share']:.0%} of raw at {report['target']['num_envs']} environments).", ""]  # fmt: skip
    lines += rst_grid_table(["environments", "raw JAX", "adapter (VecEnv)", "adapter / raw", "target"], rows)
    training = report.get("training")
    if training:
        lines += ["", f"Training (``RecurrentGTRPPO`` ``MlpLnGruPolicy``, the CPU file's settings, {training['num_envs']} "
                  f"environments, {training['rollouts']} rollouts of {training['rollout_steps']:,} steps, torch on "
                  f"``{training['torch_device']}``): {training['steps_per_second']:,.0f} environment steps per "
                  "second."]  # fmt: skip
    if report.get("pending"):
        lines += ["", f"**Partial**: not measured yet: {', '.join(report['pending'])} (the run stopped or is running; "
                  "running the same command again measures only these)."]  # fmt: skip
    machine = report["machine"]
    where = machine.get("processor") or machine.get("machine", "this machine")
    lines += ["", f"Measured {report['date']} with ``{report['command']}`` on {where} "
              f"({machine.get('cpu_count', '?')} cores), load average {report['load_average']}."]  # fmt: skip
    return [*lines, ""]


def write_report(report: dict[str, Any], prefix: pathlib.Path) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    prefix.with_suffix(".rst").write_text("\n".join(rst_lines(report)))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sb3_gtr.benchmarks.craftax_throughput", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--env", default="Craftax-Classic-Symbolic-v1", help="a Craftax name or sb3_gtr/ id")
    parser.add_argument("--num-envs", nargs="+", type=positive_int, default=[8, 64, 1024])
    parser.add_argument("--steps", type=positive_int, default=100, help="steps timed per run (after one that compiles)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="alternated runs of raw and adapter")
    parser.add_argument("--train-envs", type=positive_int, default=64, help="environments of the training figure")
    parser.add_argument("--train-rollouts", type=int, default=2, help="rollouts timed for training (0: no training figure)")
    parser.add_argument(
        "--reset-ratio", type=positive_int, default=1, help="environments per fresh world built at each step (default 1)"
    )
    parser.add_argument("--device", default=None, help="JAX platform (cpu, gpu; default: JAX's default device)")
    parser.add_argument("--output", default=str(DOCS_PREFIX), help="path of the .json and .rst files, without suffix")
    args = parser.parse_args(argv)
    if args.train_rollouts < 0:
        parser.error(f"--train-rollouts must be 0 or more, got {args.train_rollouts}")
    counts = [*args.num_envs, *([args.train_envs] if args.train_rollouts else [])]
    if not_divided := [count for count in counts if count % args.reset_ratio]:
        parser.error(f"--reset-ratio {args.reset_ratio} must divide every --num-envs and --train-envs, not {not_divided}")
    try:
        prefix = output_prefix(args.output, DOCS_PREFIX.name, (".json", ".rst"))
        from sb3_gtr.craftax.vec_env import check_env_name

        env_id = check_env_name(args.env)
        run(env_id, args.num_envs, args.steps, args.repeats, args.train_envs, args.train_rollouts, args.device, prefix,
            args.reset_ratio)  # fmt: skip
    except (BadArgument, ValueError) as error:
        parser.error(error_text(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
