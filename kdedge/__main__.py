"""`python -m kdedge ...`: the `kdedge` command (kdedge.cli)."""

from kdedge.cli import main

main()
