"""``python -m jupyters3``: the same as the ``jupyters3`` command."""

from .cli import main

raise SystemExit(main())
