"""Pure shared vocabulary: facts and rules that several stages use, defined once. No I/O."""
