"""Shared, session-scoped engines for the scale-out tests (one Dask LocalCluster and one Spark
session for the whole run: starting them is the expensive part, ~2 s and ~10 s)."""

from __future__ import annotations

import os
import shutil
import sys

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A ``distributed.Client`` on a LocalCluster of 2 single-threaded workers (threads, no
    processes, no dashboard)."""
    pytest.importorskip("dask.dataframe", reason="dask is not installed "
                        "(pip install 'cxlens[distributed]')")
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def spark():
    """A Spark session in ``local[2]`` mode with few shuffle partitions and a session time
    zone that is not UTC (results must not depend on it)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed "
                        "(pip install 'cxlens[distributed]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (java is not on PATH and JAVA_HOME is unset)")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers must import this cxlens
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[2]").appName("cxlens-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.default.parallelism", "2")
               # Results must not depend on the session time zone.
               .config("spark.sql.session.timeZone", "America/New_York")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
