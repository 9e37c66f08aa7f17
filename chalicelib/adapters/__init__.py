"""I/O wrappers: each takes its AWS client as an argument; raw AWS dicts stay inside."""
