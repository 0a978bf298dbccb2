"""The visual report: a static HTML site published with every marts version.

``data`` reads the published marts read-only with the queries of ``sql/report/``, ``figures``
turns them into Plotly figures, ``site`` renders the pages of ``templates/`` and publishes the
folder beside the marts (docs/report.md).
"""
