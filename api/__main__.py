"""``python -m api`` is ``lh``."""

from api.cli import main

main()
