"""`python -m service …` is the `finsms` command, wherever pip put its scripts."""

import sys

from service.cli import main

sys.exit(main())
