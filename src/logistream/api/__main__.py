from logistream.api.cli import main

main()
