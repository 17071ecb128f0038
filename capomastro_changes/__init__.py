"""Change-based builds for capomastro: build a dependency only when its source has changed."""
