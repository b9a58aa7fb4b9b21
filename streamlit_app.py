"""formcheck's therapist dashboard: ``streamlit run streamlit_app.py``.

Thin: the pages live in :mod:`formcheck.dashboard`. The database is ``FORMCHECK_DB_URL`` or
``formcheck-data/formcheck.db`` (create it with ``formcheck db init`` or ``formcheck demo-data``).
"""

from formcheck.dashboard.app import main

main()
