"""Kibana / OpenSearch Dashboards saved objects: a data view per dataset, a dashboard per source.

``objects.py`` generates them, ``logferry.ndjson`` is the generated file shipped in the package,
``loader.py`` imports it into (and exports from) a Kibana or OpenSearch Dashboards instance.
"""
