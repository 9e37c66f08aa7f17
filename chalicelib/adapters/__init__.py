"""I/O wrappers: one module per AWS service or Slack API; each takes its client as an argument."""
