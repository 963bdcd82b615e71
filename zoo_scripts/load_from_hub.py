"""
The RL Zoo's ``load_from_hub.py`` with ``gtr_ppo`` and ``gtr_ppo_recurrent`` registered first.

Usage: ``python zoo_scripts/load_from_hub.py --algo gtr_ppo ...`` (the same as ``python -m sb3_gtr.zoo load-from-hub ...``).
"""

import sys

from sb3_gtr.zoo.cli import run_command

if __name__ == "__main__":
    run_command("load-from-hub", sys.argv[1:])
