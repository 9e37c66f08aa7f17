"""Organisation-wide sweeps: targets and the SQS message (pure), the AWS calls, the worker's
flow."""
