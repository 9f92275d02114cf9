from local_stack.redshift.server import main

main()
