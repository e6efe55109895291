"""Speed on several cores, kept apart from the math: the only package that knows threads exist.

- threads.py: how many threads, chosen by timing while the model works (`ThreadChooser`), and
  the process's settings given back after;
- split.py: a batch cut into parts that meet at barriers, and `PartOfBatch`, the seam a layer's
  ``whole_batch`` becomes on a part (deeplearner/layers/base.py has the plain one);
- replicas.py: one copy of the layers per part, and which models may split;
- workers.py: `workers`, the one context a model's fit, evaluate and predict enter.

Delete this package in your mind and every layer still reads, runs and means the same.
"""

from .threads import check_threads
from .workers import thread_choosers, workers

__all__ = ["workers", "check_threads", "thread_choosers"]
