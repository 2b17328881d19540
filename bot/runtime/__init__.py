"""The running service: settings, feeds.toml, wiring, the Application, background loops and
leases, log redaction. May import every `bot` sub-package below it and `storage`."""
