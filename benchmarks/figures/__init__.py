"""One module per figure family; each has ``measure(ctx, quick) -> dict`` of figures."""
