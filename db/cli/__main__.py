from db.cli import main

main()
