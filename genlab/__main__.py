"""``python -m genlab``: the ``genlab`` command (see genlab/cli.py)."""

from .cli import main

main()
