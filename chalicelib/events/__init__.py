"""Events: what an EventBridge or CloudTrail event says, where it is judged, with whose credentials."""
