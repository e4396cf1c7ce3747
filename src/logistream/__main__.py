"""``python -m logistream``: the same as the ``logistream`` console script."""

from logistream.cli import main

main()
