"""The operator console (``lh console``): a Textual UI that talks to the API over HTTP and
WebSocket only."""
