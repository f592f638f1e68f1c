"""The notebook chain: ``thememap run`` / ``check`` / ``init`` (:mod:`.cli`), the runner that
executes the numbered notebooks with papermill and renders their reports (:mod:`.run`, with
:mod:`.progress`, :mod:`.stages` and the HTML ``report_template/``), and what each notebook
does first and last (:mod:`.notebook`)."""
