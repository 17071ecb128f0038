"""The bridge to Jenkins: the one package of the app that imports python-jenkins.

It takes plain values (URLs, names, parameters) and answers with frozen values
(:mod:`.values`) or one of our errors (:mod:`.errors`); it never reads the
database.
"""
