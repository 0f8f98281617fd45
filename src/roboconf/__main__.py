"""``python -m roboconf`` runs the ``roboconf`` command."""

from roboconf.cli.main import main

main()
