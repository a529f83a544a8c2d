from kpconsole.entry import main

main()
