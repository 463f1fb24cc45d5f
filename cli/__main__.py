"""``python -m mec5g``: the same CLI as the ``mec5g`` command."""

from mec5g.main import main

raise SystemExit(main())
