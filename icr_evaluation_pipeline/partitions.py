"""One partition per data set: offline keys, local files, and the OpenML-CC18 task ids."""

from __future__ import annotations

import dagster as dg

from icr_evaluation_pipeline.datasets.registry import all_partition_keys

dataset_partitions = dg.StaticPartitionsDefinition(all_partition_keys())
