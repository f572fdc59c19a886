"""``python -m bayescore.cli``."""

import sys

from bayescore.cli import main

sys.exit(main())
