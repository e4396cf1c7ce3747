from logistream.notify.cli import main

main()
