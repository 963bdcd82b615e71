"""``python -m sb3_gtr.zoo COMMAND ...``: see :mod:`sb3_gtr.zoo.cli`."""

from sb3_gtr.zoo.cli import main

main()
