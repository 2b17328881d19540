"""The bot service, in sub-packages by responsibility; see docs/architecture.md for the map.

May import `storage`, never `handlers`."""
