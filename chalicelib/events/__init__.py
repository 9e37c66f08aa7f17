"""Events: which account and region an event is judged in, and with whose credentials."""
