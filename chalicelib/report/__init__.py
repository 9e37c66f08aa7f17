"""Renderers of a run or of Security Hub's findings for people: HTML, CSV and OCSF.

Nothing here is imported when the Lambda starts: the pipeline imports only `report.facts` (pure, no
template engine). Jinja2 and py-ocsf-models are imported by the renderer that needs them, when it
runs (the CLI's `--format html|ocsf`)."""
