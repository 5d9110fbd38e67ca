"""The PostgreSQL pass of CI really runs on PostgreSQL.

`.ci/run` fails that pass unless the tests marked `postgres` ran and passed: a DATABASE_URL lost on the way
(skipped tests) or ignored (this test fails) cannot turn it into a second SQLite pass.
"""

import pytest
from sqlalchemy import text

from bootstrap import App
from tests.conftest import POSTGRES_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL.startswith("postgresql"), reason="DATABASE_URL is not PostgreSQL"),
]


def test_a_postgresql_database_url_gives_a_postgresql_database(app: App) -> None:
    assert app.db.url == POSTGRES_URL and app.db.is_postgres
    with app.db.engine.connect() as conn:
        assert conn.execute(text("SELECT version()")).scalar_one().startswith("PostgreSQL ")
        assert conn.execute(text("SELECT current_schema()")).scalar_one().startswith("test_")  # the run's own
