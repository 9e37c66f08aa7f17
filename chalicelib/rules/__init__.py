"""Pure shared vocabulary: each domain fact defined once (tags, time, ids, environments, leases).

Nothing here imports boto3, reads the clock or the environment. A meta-test
(tests/unit/test_one_definition.py) fails when a second definition appears elsewhere."""
