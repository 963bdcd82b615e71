"""
The RL Zoo's ``enjoy.py`` with ``gtr_ppo`` and ``gtr_ppo_recurrent`` registered first.

Usage: ``python zoo_scripts/enjoy.py --algo gtr_ppo ...`` (the same as ``python -m sb3_gtr.zoo enjoy ...``).
"""

import sys

from sb3_gtr.zoo.cli import run_command

if __name__ == "__main__":
    run_command("enjoy", sys.argv[1:])
