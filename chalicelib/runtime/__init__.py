"""The Lambda side of a run: the handlers' flows, the clients cache, the time budget, the tracing
switch."""
