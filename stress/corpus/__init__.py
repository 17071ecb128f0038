"""The bad-input corpus: cases by kind of input, each run against the real code path."""
