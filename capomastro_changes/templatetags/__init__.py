"""Template tags of the app's admin pages (Django finds them here, by name)."""
