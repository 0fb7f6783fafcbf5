"""``python -m drugprint``."""

import sys

from .cli import main

sys.exit(main())
