"""The demo tells HQ's side: an HQ user made on the first run and kept, its login, and every
report link it prints answering CSV that Excel reads, on the demo's own HQ (SQLite); the booking
it prints reaches HQ's booking route, which says plainly that nothing was booked while the
store's hub is away."""

import json
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
        hq.admin.post("/api/v1/stores", json={"id": "S1", "name": "S1"}).raise_for_status()
        printed = hq_lines(hq.base_url, "demo-password-1", token, "S1")
        assert '"username": "hq", "password": "demo-password-1"' in printed
        (booking_line,) = [line for line in printed.splitlines() if "/bookings'" in line]
        urls = re.findall(r"'(http[^']+)'", printed.replace(booking_line, ""))
        assert len(urls) == len(HQ_REPORTS)
        with hq.client() as client:
            client.headers["Authorization"] = f"Bearer {token}"
            for url in urls:
                r = client.get(url)
                assert r.status_code == 200, (url, r.text)
                assert r.headers["content-type"].startswith("text/csv"), url
                assert r.text.startswith("\ufeff"), url  # Excel reads it as UTF-8
            assert client.get(urls[0], headers={"Authorization": "Bearer nope"}).status_code == 401
            # The printed booking, sent as printed: no hub of S1 polls this HQ, so it is 503.
            body = json.loads(re.findall(r"-d '([^']+)'", booking_line)[0])
            (url,) = re.findall(r"'(http[^']+/bookings)'", booking_line)
            r = client.post(url, json=body)
            assert r.status_code == 503, r.text
            assert "nothing was booked" in r.text
    finally:
        hq.stop()
