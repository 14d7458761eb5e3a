"""Background work shared by worker processes through the database: ``queue.py`` (the queue,
its claims and the loop a worker runs), ``timezones.py`` (the time-zone rebuild as a job),
``sessions.py`` (building the sessions of plays stored before they were kept), ``charts.py``
(building the weekly charts of plays stored before them), ``exclusions.py`` (rebuilding a
listener's summaries when their exclusions change).

In the layering it sits above ``models.ingest`` and below ``models.imports``: the import job's
handler lives with the import (``models.imports.history_import.work_slice``) and reaches the
queue from above.  The worker process itself is ``batch/worker.py``.
"""
