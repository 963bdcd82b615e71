import json
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecNormalize

from sb3_gtr import GTRPPO
from sb3_gtr.continual.callbacks import ContinualTaskCallback
from sb3_gtr.continual.env import ContinualTaskEnv
from sb3_gtr.continual.evaluation import ContinualEvalCallback
from sb3_gtr.continual.metrics import (
    EvaluationTable,
    adaptation_speed,
    average_performance,
    compute_metrics,
    forgetting,
    forward_transfer,
    normalize_returns,
    relearning_cost,
    steps_to_threshold,
)
from sb3_gtr.continual.suites import SUITES, make_suite
from sb3_gtr.continual.task_schedule import TaskScheduleCallback
from sb3_gtr.continual.tasks import Phase, Task, TaskSequence
from sb3_gtr.continual.vec_env import make_continual_vec_env, mirror_vec_wrappers, sync_normalization


class ConstantRewardEnv(gym.Env):
    """Episodes of ``episode_length`` steps, each step rewarded ``reward`` whatever the action."""

    def __init__(self, reward: float = 1.0, episode_length: int = 5):
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.reward, self.episode_length = reward, episode_length
        self.n_steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n_steps = 0
        return np.zeros(2, dtype=np.float32), {}

    def step(self, action):
        self.n_steps += 1
        return np.zeros(2, dtype=np.float32), self.reward, self.n_steps >= self.episode_length, False, {}


def constant_task(name: str, reward: float, n_timesteps: int, **kwargs) -> Task:
    return Task(name, ConstantRewardEnv, {"reward": reward}, n_timesteps, **kwargs)


def tiny(algo_class=PPO, **kwargs):
    n_steps = kwargs.pop("n_steps", 8)
    env = kwargs.pop("env")
    policy = "MlpLstmPolicy" if algo_class is RecurrentPPO else "MlpPolicy"
    batch_size = n_steps * env.num_envs
    return algo_class(policy, env, n_steps=n_steps, batch_size=batch_size, n_epochs=1, seed=0, device="cpu", **kwargs)


class RecordTasks(BaseCallback):
    """Records, for every vectorized step, its first step index and the task id and flags of each sub-environment."""

    def __init__(self):
        super().__init__()
        self.records = []

    def _on_step(self) -> bool:
        start = self.num_timesteps - self.training_env.num_envs
        infos = self.locals["infos"]
        # an episode ends at a switch: cut by it (flagged "task_switch"), or naturally at that very step
        ends = [info.get("task_switch", False) or bool(done) for info, done in zip(infos, self.locals["dones"], strict=True)]
        self.records.append(
            (start, [info["task_id"] for info in infos], [info.get("task_switch", False) for info in infos], ends)
        )
        return True


def test_task_sequence_schedule():
    sequence = TaskSequence([constant_task("a", 1.0, 10), constant_task("b", 0.0, 14)], n_cycles=2)
    assert sequence.schedule() == [Phase(0, 0, 10), Phase(1, 10, 24), Phase(0, 24, 34), Phase(1, 34, 48)]
    assert sequence.total_timesteps == 48
    assert [sequence.task_id_at(step) for step in (0, 9, 10, 23, 24, 47, 100)] == [0, 0, 1, 1, 0, 1, 1]
    half = TaskSequence(sequence.tasks, n_cycles=1, scale=0.5)
    assert half.schedule() == [Phase(0, 0, 5), Phase(1, 5, 12)]
    with pytest.raises(ValueError, match="unique"):
        TaskSequence([constant_task("a", 1.0, 10), constant_task("a", 0.0, 10)])


def test_continual_task_env_switches_at_the_next_reset():
    env = ContinualTaskEnv([constant_task("a", 1.0, 10), constant_task("b", -1.0, 10)])
    _, info = env.reset(seed=0)
    assert info["task_id"] == 0 and list(env.envs) == [0]  # the other task's env is created lazily
    env.set_task(0)  # already active: no truncation
    _, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated, info["task_id"]) == (1.0, False, False, 0)
    env.set_task(1)
    _, reward, terminated, truncated, info = env.step(0)
    # the running episode ends on the old task, truncated, flagged as cut by the switch
    assert (reward, terminated, truncated, info["task_id"], info["task_switch"]) == (1.0, False, True, 0, True)
    _, info = env.reset()
    assert info["task_id"] == 1 and env.task_id == 1
    _, reward, _, truncated, info = env.step(0)
    assert (reward, truncated, info["task_id"]) == (-1.0, False, 1)


def test_different_spaces_are_rejected():
    env = ContinualTaskEnv([Task("cartpole", "CartPole-v1"), Task("pendulum", "Pendulum-v1")])
    env.reset(seed=0)
    env.set_task(1)
    with pytest.raises(ValueError, match="not yet supported"):
        env.reset()


@pytest.mark.parametrize("n_envs", [2, 3])
def test_switching_reaches_every_sub_env_on_schedule(n_envs):
    sequence = TaskSequence([constant_task("a", 1.0, 10), constant_task("b", 0.0, 14)], n_cycles=2)
    env = make_continual_vec_env(sequence, n_envs=n_envs, seed=0)
    callback = ContinualTaskCallback(sequence, eval_freq=0, n_eval_episodes=1)
    recorder = RecordTasks()
    tiny(env=env).learn(1000, callback=CallbackList([callback, recorder]))

    # the sequence is over at its last step, whatever learn() was asked
    assert recorder.records[-1][0] + n_envs == sequence.total_timesteps
    # every sub-env runs the task scheduled at the first step of each vectorized step
    for start, task_ids, _, _ in recorder.records:
        assert task_ids == [sequence.task_id_at(start)] * n_envs, start
    # and switches by truncating the episode that runs over the boundary: one vectorized step, all sub-envs
    for start, _, flags, ends in recorder.records:
        if sequence.task_id_at(start + n_envs) != sequence.task_id_at(start) and start + n_envs < sequence.total_timesteps:
            assert all(ends), start
        else:
            assert not any(flags), start
    assert any(any(flags) for _, _, flags, _ in recorder.records)
    # the phases actually trained start at the first vectorized step at or after each boundary
    expected_starts = [0] + [-(-boundary // n_envs) * n_envs for boundary in (10, 24, 34)]
    assert [phase.start for phase in callback.phases] == expected_starts
    assert [phase.task_id for phase in callback.phases] == [0, 1, 0, 1]
    assert callback.phases[-1].end == sequence.total_timesteps
    # evaluations at the start, at each switch and at the end
    assert list(callback.evaluations.steps) == [*expected_starts, sequence.total_timesteps]
    np.testing.assert_allclose(callback.evaluations.returns, np.tile([5.0, 0.0], (5, 1)))


def test_schedule_and_evaluation_compose_as_the_continual_callback():
    """The two halves in a CallbackList do what ContinualTaskCallback does; the schedule alone only switches."""
    sequence = TaskSequence([constant_task("a", 1.0, 10), constant_task("b", 0.0, 14)], n_cycles=2)
    whole = ContinualTaskCallback(sequence, eval_freq=6, n_eval_episodes=1)
    tiny(env=make_continual_vec_env(sequence, n_envs=2, seed=0)).learn(1000, callback=whole)

    schedule = TaskScheduleCallback(sequence)
    evaluation = ContinualEvalCallback(schedule, eval_freq=6, n_eval_episodes=1)
    tiny(env=make_continual_vec_env(sequence, n_envs=2, seed=0)).learn(1000, callback=[schedule, evaluation])
    assert schedule.phases == whole.phases
    assert list(evaluation.evaluations.steps) == list(whole.evaluations.steps)
    np.testing.assert_allclose(evaluation.evaluations.returns, whole.evaluations.returns)
    assert evaluation.metrics["phases"] == whole.metrics["phases"]

    alone = TaskScheduleCallback(sequence)
    recorder = RecordTasks()
    tiny(env=make_continual_vec_env(sequence, n_envs=2, seed=0)).learn(1000, callback=[alone, recorder])
    assert alone.phases == whole.phases
    for start, task_ids, _, _ in recorder.records:
        assert task_ids == [sequence.task_id_at(start)] * 2, start


def test_evaluation_needs_its_schedule_in_the_same_learn():
    sequence = TaskSequence([constant_task("a", 1.0, 10), constant_task("b", 0.0, 14)])
    evaluation = ContinualEvalCallback(TaskScheduleCallback(sequence), eval_freq=0, n_eval_episodes=1)
    with pytest.raises(ValueError, match=r"give both to learn\(\), the schedule first"):
        tiny(env=make_continual_vec_env(sequence, n_envs=1, seed=0)).learn(8, callback=evaluation)
    with pytest.raises(ValueError, match="`schedule` must be a TaskScheduleCallback"):
        ContinualEvalCallback(sequence)


def test_curriculum_switches_when_the_threshold_is_reached():
    # task "a": return 5 per episode (5 steps of reward 1), threshold 5 -> reached after 2 episodes, at step 10;
    # task "b": return 0, threshold 1 never reached -> ends when its budget of 20 steps is used up.
    sequence = TaskSequence([constant_task("a", 1.0, 100, reward_threshold=5.0), constant_task("b", 0.0, 20)])
    env = make_continual_vec_env(sequence, n_envs=1, seed=0)
    callback = ContinualTaskCallback(
        sequence, eval_freq=0, n_eval_episodes=1, curriculum=True, curriculum_window=2, reward_thresholds={"b": 1.0}
    )
    recorder = RecordTasks()
    tiny(env=env).learn(1000, callback=CallbackList([callback, recorder]))

    task_by_step = {start + 1: task_ids[0] for start, task_ids, _, _ in recorder.records}
    switch_steps = [start + 1 for start, _, flags, _ in recorder.records if flags[0]]
    # threshold seen at step 10 -> step 11 (first of a new episode of "a") is cut, "b" runs from step 12
    assert switch_steps == [11]
    assert [task_by_step[step] for step in (10, 11, 12)] == [0, 0, 1]
    assert callback.phases == [Phase(0, 0, 11), Phase(1, 11, 31)]
    assert max(task_by_step) == 31


def test_curriculum_window_and_threshold_not_reached_fall_back_to_the_budget():
    sequence = TaskSequence([constant_task("a", 1.0, 12, reward_threshold=6.0), constant_task("b", 0.0, 8)])
    callback = ContinualTaskCallback(sequence, eval_freq=0, n_eval_episodes=1, curriculum=True, curriculum_window=1)
    tiny(env=make_continual_vec_env(sequence, n_envs=2, seed=0)).learn(1000, callback=callback)
    assert callback.phases == [Phase(0, 0, 12), Phase(1, 12, 20)]


@pytest.mark.parametrize("algo_class", [GTRPPO, RecurrentPPO])
def test_other_algorithms(algo_class):
    sequence = TaskSequence([constant_task("a", 1.0, 8), constant_task("b", 0.0, 8)])
    callback = ContinualTaskCallback(sequence, eval_freq=8, n_eval_episodes=1)
    tiny(algo_class, env=make_continual_vec_env(sequence, n_envs=2, seed=0)).learn(1000, callback=callback)
    assert callback.phases == [Phase(0, 0, 8), Phase(1, 8, 16)]
    assert callback.metrics["average_performance"] == 0.0  # constant returns: zero span, scored 0


# A hand-made run: phases a [0, 10), b [10, 20), a [20, 30), an evaluation every 5 steps.
STEPS = np.array([0, 5, 10, 15, 20, 25, 30])
RETURNS = np.array(
    [
        # a (min 0, max 10)  b (min -4, max 4)
        [0.0, -4.0],
        [5.0, -4.0],
        [10.0, -4.0],
        [6.0, 0.0],
        [2.0, 4.0],
        [9.0, 2.0],
        [9.0, 0.0],
    ]
)
PHASES = [Phase(0, 0, 10), Phase(1, 10, 20), Phase(0, 20, 30)]


def test_metrics_on_a_hand_made_table():
    normalized = normalize_returns(RETURNS)
    np.testing.assert_allclose(normalized[:, 0], [0.0, 0.5, 1.0, 0.6, 0.2, 0.9, 0.9])
    np.testing.assert_allclose(normalized[:, 1], [0.0, 0.0, 0.0, 0.5, 1.0, 0.75, 0.5])
    # final performances 0.9 and 0.5
    assert average_performance(normalized) == pytest.approx(0.7)
    # a: its last phase ends with training -> 0; b: 1.0 at the end of its phase (step 20), 0.5 at the end
    np.testing.assert_allclose(forgetting(STEPS, normalized, PHASES), [0.0, 0.5])
    # a comes back at step 20 with 0.2; best earlier 1.0 -> target 0.8, reached at step 25: 5 steps.
    speeds = adaptation_speed(STEPS, normalized, PHASES, fraction=0.8)
    assert math.isnan(speeds[0]) and math.isnan(speeds[1]) and speeds[2] == 5.0
    assert math.isnan(adaptation_speed(STEPS, normalized, PHASES, fraction=0.95)[2])  # 0.9 < 0.95: never
    # no reference curves: undefined
    assert np.all(np.isnan(forward_transfer(STEPS, normalized, PHASES)))
    # reference for a: 0, 0.2, 0.4 at steps 0, 5, 10 -> AUC 0.2; a's first phase: 0, 0.5, 1 -> AUC 0.5
    reference = (np.array([0, 5, 10]), np.array([0.0, 0.2, 0.4]))
    transfer = forward_transfer(STEPS, normalized, PHASES, [reference, None])
    assert transfer[0] == pytest.approx((0.5 - 0.2) / (1 - 0.2)) and math.isnan(transfer[1])


def test_steps_to_threshold_and_relearning_cost_on_a_hand_made_table():
    # Two tasks, four phases of 10 steps: 0 -> 1 -> 0 -> 1, evaluations every 5 steps
    steps = np.array([0, 5, 10, 15, 20, 25, 30, 35, 40])
    returns = np.array(
        [
            [0.0, 0.0],
            [9.0, 0.0],  # task 0 solved 5 steps into its first phase
            [10.0, 0.0],  # start of phase 1 (task 1)
            [2.0, 3.0],
            [1.0, 8.0],  # task 1 solved 10 steps into phase 1
            [9.5, 0.0],  # task 0 solved 5 steps into phase 2
            [0.0, 8.0],  # phase 3 starts with task 1 already solved
            [0.0, 9.0],
            [0.0, 9.0],
        ]
    )
    phases = [Phase(0, 0, 10), Phase(1, 10, 20), Phase(0, 20, 30), Phase(1, 30, 40)]
    found = steps_to_threshold(steps, returns, phases, thresholds=[9.0, 8.0])
    np.testing.assert_array_equal(found, [5.0, 10.0, 5.0, 0.0])
    # no threshold, or never reached: NaN
    assert np.isnan(steps_to_threshold(steps, returns, phases, thresholds=[None, 100.0])).all()
    # from scratch, task 0 takes 5 steps and task 1 takes 20: the first switch to task 1 cost half of that
    cost = relearning_cost(found, phases, from_scratch=[5.0, 20.0])
    np.testing.assert_array_equal(cost[1:], [0.5, 1.0, 0.0])
    assert math.isnan(cost[0])
    assert math.isnan(relearning_cost(found, phases, from_scratch=[None, 20.0])[2])
    with pytest.raises(ValueError, match="`thresholds` needs one entry per task"):
        steps_to_threshold(steps, returns, phases, thresholds=[9.0])
    with pytest.raises(ValueError, match="from_scratch"):
        relearning_cost(found, phases, from_scratch=[0.0, 20.0])


def test_compute_metrics_and_user_references():
    table = EvaluationTable(["a", "b"], STEPS, RETURNS)
    metrics = compute_metrics(table, PHASES, reference_curves={"a": ([0, 5, 10], [0.0, 2.0, 4.0])})
    assert metrics["average_performance"] == pytest.approx(0.7)
    assert metrics["forgetting"] == pytest.approx(0.25)
    assert metrics["forward_transfer"] == pytest.approx(0.375)
    assert metrics["adaptation_speed"] == 5.0
    assert metrics["tasks"][1]["forward_transfer"] is None
    assert [phase["adaptation_speed"] for phase in metrics["phases"]] == [None, None, 5.0]
    json.dumps(metrics)  # NaN-free, JSON-ready
    assert compute_metrics(table, PHASES)["forward_transfer"] is None

    # user references: a in [0, 20] -> final 0.45; b in [-4, 4] -> final 0.5
    given = compute_metrics(table, PHASES, reference_min=[0.0, -4.0], reference_max=[20.0, 4.0])
    assert given["average_performance"] == pytest.approx(0.475)
    with pytest.raises(ValueError, match="exceed"):
        normalize_returns(RETURNS, reference_min=[1.0, 0.0], reference_max=[1.0, 1.0])


def test_callback_writes_files_through_vecnormalize(tmp_path):
    tasks = [
        Task("cartpole", "CartPole-v1", n_timesteps=64),
        Task("sutton_barto", "CartPole-v1", {"sutton_barto_reward": True}, n_timesteps=64),
    ]
    sequence = TaskSequence(tasks, name="cartpoles")
    env = VecNormalize(make_continual_vec_env(sequence, n_envs=2, seed=0))
    callback = ContinualTaskCallback(sequence, eval_freq=32, n_eval_episodes=1, eval_seed=0)
    model = tiny(env=env, n_steps=16)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(sequence.total_timesteps, callback=callback)
    assert model._n_updates == 4  # learn(sequence.total_timesteps) is not cut short: every rollout is trained on

    # written to the logger's folder by default
    for name in ("evaluations.csv", "metrics.json", "metrics.csv", "learning_curves.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = EvaluationTable.from_csv(str(tmp_path / "evaluations.csv"))
    assert table.task_names == ["cartpole", "sutton_barto"]
    assert list(table.steps) == [0, 32, 64, 96, 128]
    np.testing.assert_allclose(table.returns, callback.evaluations.returns)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {"average_performance", "forgetting", "forward_transfer", "adaptation_speed", "tasks", "phases"} <= set(metrics)
    assert [(phase["task"], phase["start"], phase["end"]) for phase in metrics["phases"]] == [
        ("cartpole", 0, 64),
        ("sutton_barto", 64, 128),
    ]
    assert (tmp_path / "metrics.csv").read_text().splitlines()[0] == (
        "task_id,task,final_performance,forgetting,forward_transfer,adaptation_speed"
    )
    progress = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert {"continual/task_id", "continual/return_cartpole", "continual/eval_return_sutton_barto"} <= set(progress)
    # the evaluation envs normalise with the training statistics
    np.testing.assert_allclose(callback_eval_obs_mean(callback, env), env.obs_rms.mean)


def callback_eval_obs_mean(callback, env):
    eval_env = mirror_vec_wrappers(env, make_continual_vec_env(callback.sequence))
    sync_normalization(env, eval_env)
    assert isinstance(eval_env, VecNormalize) and not eval_env.training and not eval_env.norm_reward
    return eval_env.obs_rms.mean


def test_flip_suite_builds_and_steps():
    sequence = make_suite("flip", scale=1e-4)
    assert sequence.task_names == ["forward", "backward"] and sequence.n_cycles == 3
    assert sequence.total_timesteps == 6 * 20
    assert make_suite("flip", scale=1e-4, n_cycles=1).total_timesteps == 40
    env = make_continual_vec_env(sequence, n_envs=1, seed=0)
    action = np.full((1, *env.action_space.shape), 0.5, dtype=np.float32)
    env.reset()
    _, _, _, infos = env.step(action)
    assert infos[0]["task_id"] == 0 and infos[0]["reward_forward"] == pytest.approx(infos[0]["x_velocity"])
    env.env_method("set_task", 1)
    env.step(action)  # truncated: the next episode runs backward
    _, _, _, infos = env.step(action)
    assert infos[0]["task_id"] == 1 and infos[0]["reward_forward"] == pytest.approx(-infos[0]["x_velocity"])
    env.close()


def test_unknown_suite():
    assert "flip" in SUITES
    with pytest.raises(ValueError, match=r"Unknown continual suite 'nope', available suites: .*flip"):
        make_suite("nope")
