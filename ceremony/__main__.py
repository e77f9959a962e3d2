"""Entry point for ``python -m ceremony``."""

from ceremony.cli import main

raise SystemExit(main())
