"""The ringcast supervisor (./ringcast): options, the process table and its
restart policy, the daemon with its control socket, and the commands that
talk to it. Standard library only."""
