"""The batch layer: ``reports.yml`` (``config``), the papermill runner with its cache, lock and
atomic writes (``runner``), the same jobs as tasks on a Dask cluster (``dask_executor``),
provenance, and the HTML index (``site``).

The top layer: it may import every other layer; none imports it.
"""
