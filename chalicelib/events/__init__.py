"""Event parsing: what an EventBridge or CloudTrail event says (scope.py reads the instances)."""
