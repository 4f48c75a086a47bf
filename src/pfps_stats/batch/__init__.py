"""The batch layer: ``reports.yml`` (``config``), the papermill runner with its cache, lock and
atomic writes (``runner``), provenance, and the HTML index (``site``).

The top layer: it may import every other layer; none imports it.
"""
