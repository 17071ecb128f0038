"""HTTP endpoints (:mod:`.endpoints`), who may call them (:mod:`.tokens`), and the status
documents they and the command line serve (:mod:`.status`).
"""
