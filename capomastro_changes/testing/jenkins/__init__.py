"""A Jenkins stand-in: a real HTTP server speaking the remote API python-jenkins uses.

Shipped with the package so that a host can test its own integration against
it, as it would with ``django.test``. Start one with :class:`JenkinsStandIn`
(a context manager) or from the command line::

    python -m capomastro_changes.testing.jenkins --port 8080 --user admin --password secret
"""

from capomastro_changes.testing.jenkins.faults import Faults
from capomastro_changes.testing.jenkins.notifier import Delivery
from capomastro_changes.testing.jenkins.receiver import NotificationReceiver, ReceivedPost
from capomastro_changes.testing.jenkins.standin import JenkinsStandIn
from capomastro_changes.testing.jenkins.state import BuildRecord

__all__ = [
    "BuildRecord",
    "Delivery",
    "Faults",
    "JenkinsStandIn",
    "NotificationReceiver",
    "ReceivedPost",
]
