"""Documents in the web layer: PDFs rendered with WeasyPrint, the render queue, pages' helpers and CLI.

The flow: the domain (cases.documents) queues a row and builds what it prints; `dossier.py` turns that
into a `RenderRequest` (`render_request.py`, plain picklable data), `child.py` runs WeasyPrint
(`render.py`) on it in a child process with a memory and time limit, and `pipeline.py` signs and digests
the result there. `queue.py` is the background job that claims, renders and stores queued documents,
`checks.py` the job that checks a stored one against the audit chain, `pages.py` what case pages show
and send, `commands.py` `casework documents ...`. Only `render.py`, `content.py` and `signing.py` import
WeasyPrint or pyHanko, and only the render child imports them, so web processes and workers stay light.
"""
