"""
The RL Zoo's ``record_video.py`` with ``gtr_ppo`` and ``gtr_ppo_recurrent`` registered first.

Usage: ``python zoo_scripts/record_video.py --algo gtr_ppo ...`` (the same as ``python -m sb3_gtr.zoo record-video ...``).
"""

import sys

from sb3_gtr.zoo.cli import run_command

if __name__ == "__main__":
    run_command("record-video", sys.argv[1:])
