"""`python -m portraitmatch` runs the command line."""

from portraitmatch.adapters.cli.app import main

main()
