"""``python -m s3lite``: the s3lite command line."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
