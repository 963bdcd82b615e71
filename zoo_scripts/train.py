"""
The RL Zoo's ``train.py`` with ``gtr_ppo`` and ``gtr_ppo_recurrent`` registered first.

Usage: ``python zoo_scripts/train.py --algo gtr_ppo ...`` (the same as ``python -m sb3_gtr.zoo train ...``).
"""

import sys

from sb3_gtr.zoo.cli import run_command

if __name__ == "__main__":
    run_command("train", sys.argv[1:])
