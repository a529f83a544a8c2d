from kpconsole.cli import main

main()
