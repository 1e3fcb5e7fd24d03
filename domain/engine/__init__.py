"""The trading loop and the ports it runs against (venue, event sink, clock, feed)."""
