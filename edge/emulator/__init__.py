"""Network printer emulator: renders ESC/POS receipts and TSPL labels to images.

``render.render_job`` / ``render.render_job_png`` turn a job's bytes into pages (used for
previews); ``server.PrinterEmulator`` is a TCP print port that saves each printed page as a PNG,
answers status queries and can be told to run out of paper or go offline.
"""
