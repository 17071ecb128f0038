"""The benchmark harness of issue 7: our checks against their anchors, as ratios."""
