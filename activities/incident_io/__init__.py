"""incident.io: a typed client and the ``incident_io.*`` node activities."""
