"""The read side: queries over the read models and the log, shared by the CLI and the API.

Nothing here writes a read model or the log."""
