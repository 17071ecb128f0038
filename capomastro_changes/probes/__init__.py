"""Probes: how the current revision of a source is found.

``local`` reads in process (dulwich, breezy); ``script`` runs a job type's
bygmester probe script; ``jenkins`` runs that script through Jenkins.
"""
