"""Delivery: approved campaigns sent exactly once, to the right people, at their local time."""
