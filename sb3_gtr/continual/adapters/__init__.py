"""
Adapters that make the simulators of the continual suites Gymnasium environments SB3 can train on: dm_control
(through shimmy), Meta-World and procgen. Each imports its simulator only when an environment is built.
"""
