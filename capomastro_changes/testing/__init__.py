"""Testing helpers shipped with the app: the Jenkins stand-in, model factories, servers."""
