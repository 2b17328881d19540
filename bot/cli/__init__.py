"""The `newsbot` command: argument parsing, operator commands and console mode. May import
every other `bot` sub-package and `storage`; heavy modules only inside the command needing them."""
