"""The demo tells HQ's side: an HQ user made on the first run and kept, its login, and every
report link it prints answering CSV that Excel reads, on the demo's own HQ (SQLite)."""

import re
from pathlib import Path

from cloud.db import migrate
from smartstore.cloud_service import cloud_settings, run_cloud_thread
from smartstore.demo import HQ_REPORTS, hq_access, hq_lines


def test_the_demo_prints_a_working_hq_login_and_report_links(tmp_path: Path) -> None:
    settings = cloud_settings(f"sqlite:///{tmp_path / 'cloud.sqlite3'}")
    migrate(settings.database_url)
    hq = run_cloud_thread(settings)
    try:
        token = hq_access(hq, "demo-password-1")
        again = hq_access(hq, "demo-password-1")  # the next run: the same user logs in again
        assert again != token
        printed = hq_lines(hq.base_url, "demo-password-1", token)
        assert '"username": "hq", "password": "demo-password-1"' in printed
        urls = re.findall(r"'(http[^']+)'", printed)
        assert len(urls) == len(HQ_REPORTS)
        with hq.client() as client:
            client.headers["Authorization"] = f"Bearer {token}"
            for url in urls:
                r = client.get(url)
                assert r.status_code == 200, (url, r.text)
                assert r.headers["content-type"].startswith("text/csv"), url
                assert r.text.startswith("\ufeff"), url  # Excel reads it as UTF-8
            assert client.get(urls[0], headers={"Authorization": "Bearer nope"}).status_code == 401
    finally:
        hq.stop()
