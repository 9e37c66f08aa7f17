"""I/O wrappers: one module per AWS service or Slack; each takes its client as an argument."""
