"""Events: what an EventBridge or CloudTrail event says, which account and region it is judged in, and with whose credentials."""
