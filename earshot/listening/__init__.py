"""The web listening test: JND (DPAM's protocol), A/B preference and MUSHRA in the browser.

- `earshot.listening.experiment`: the experiment YAML and its stimuli (``load_experiment``).
- `earshot.listening.store`: the SQLAlchemy database (SQLite file or PostgreSQL URL).
- `earshot.listening.service`: sessions, trials, answers stored once; `app`: the FastAPI app.
- `earshot.psycho.staircase` (DPAM's adaptive level procedure) is shared with the JND data.
- `earshot.listening.export`: judgments for ``earshot train jnd``; CSV with means and 95% CIs.
- `earshot.listening.prepare`: JND level ladders and MUSHRA anchors made from clean audio.

Run it with ``earshot listen serve EXPERIMENT.yaml``; see docs/listening.md. Importing this
package imports no web framework; `app` does.
"""
