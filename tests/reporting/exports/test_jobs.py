"""The console's Reports screen: exports queued as background jobs, progress, download for the asker only."""
from __future__ import annotations

from sqlalchemy import func, select

from models import AuditEvent, ExportChunk, ExportJob, db
from reporting.exports import jobs
from tests.conftest import PASSWORD
from tests.fixtures.exports import open_xlsx, table


def _login(client, email: str) -> None:
    client.post("/logout")
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


def test_queue_run_and_download(client, world):
    _login(client, "manager@vs.example.org")
    page = client.get("/admin/reports/").get_data(as_text=True)
    assert "Cases" in page and "performance" in page.lower() and "Audit log" not in page
    response = client.post("/admin/reports/", data={"export": "cases", "from": "2026-01-01", "to": "2026-06-30"})
    assert response.status_code == 302
    job = db.session.scalar(select(ExportJob))
    assert job.status == "queued" and "refresh" in client.get(response.headers["Location"]).get_data(as_text=True)
    jobs.run(job.id)   # what the worker (or the request's background thread) does
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.status == "done" and job.rows >= 1 and job.percent == 100
    assert "Download" in client.get(f"/admin/reports/jobs/{job.id}/").get_data(as_text=True)
    download = client.get(f"/admin/reports/jobs/{job.id}/download")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    book = open_xlsx(download.data)
    headers, rows = table(book.worksheets[0])
    assert "reference" in headers and all(r["reference"].startswith("CB-") for r in rows)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.user_email ==
                                                                            "manager@vs.example.org"))]
    assert "export" in actions and "download" in actions
    _login(client, "cw@vs.example.org")   # another user cannot see or fetch it
    assert client.get(f"/admin/reports/jobs/{job.id}/").status_code == 404
    assert client.get(f"/admin/reports/jobs/{job.id}/download").status_code == 404


def test_workbook_is_stored_and_streamed_in_chunks(client, world, monkeypatch):
    # Small pieces and a small spool, so this little workbook takes the path a 1M-row one takes.
    monkeypatch.setattr(jobs, "CHUNK_SIZE", 1024)
    monkeypatch.setattr(jobs, "SPOOL_IN_MEMORY", 2048)
    _login(client, "manager@vs.example.org")
    client.post("/admin/reports/", data={"export": "cases"})
    job = db.session.scalar(select(ExportJob))
    jobs.run(job.id)
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    pieces = db.session.scalar(select(func.count()).select_from(ExportChunk).where(ExportChunk.job_id == job.id))
    assert job.status == "done" and pieces == -(-job.size // 1024) and pieces > 1
    download = client.get(f"/admin/reports/jobs/{job.id}/download")
    assert download.status_code == 200 and int(download.headers["Content-Length"]) == len(download.data) == job.size
    _headers, rows = table(open_xlsx(download.data).worksheets[0])
    assert len(rows) == job.rows
    # Older finished files beyond the kept number lose their chunks and can no longer be fetched.
    monkeypatch.setattr(jobs, "KEEP_FILES", 0)
    jobs._tidy(job.user_id)
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).status == "expired"
    assert db.session.scalar(select(func.count()).select_from(ExportChunk)) == 0
    assert client.get(f"/admin/reports/jobs/{job.id}/download").status_code == 404


def test_bad_request_is_refused_at_once(client, world):
    _login(client, "manager@vs.example.org")
    bad = client.post("/admin/reports/", data={"export": "cases", "from": "2026-13-01"})
    assert bad.status_code == 400 and "report-errors" in bad.get_data(as_text=True)
    assert client.post("/admin/reports/", data={"export": "audit"}).status_code == 400   # auditors only
    assert client.post("/admin/reports/", data={"export": "nonsense"}).status_code == 400
    assert db.session.scalar(select(ExportJob)) is None


def test_failed_job_is_reported(client, world):
    _login(client, "manager@vs.example.org")
    client.post("/admin/reports/", data={"export": "cases"})
    job = db.session.scalar(select(ExportJob))
    job.filters = '{"from": "not-a-date"}'
    db.session.commit()
    jobs.run(job.id)
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).status == "failed"
    assert "failed" in client.get(f"/admin/reports/jobs/{job.id}/").get_data(as_text=True)


def test_admins_have_no_reports(client, world):
    _login(client, "admin@police.example.org")
    assert client.get("/admin/reports/").status_code == 404


def test_progress_is_shown_while_running(client, world):
    _login(client, "manager@vs.example.org")
    client.post("/admin/reports/", data={"export": "work_items"})
    job = db.session.scalar(select(ExportJob))
    job.status = "running"
    db.session.commit()
    jobs.PROGRESS[job.id] = (500, 1000)   # what the running export reports in this process
    try:
        page = client.get(f"/admin/reports/jobs/{job.id}/").get_data(as_text=True)
    finally:
        jobs.PROGRESS.pop(job.id, None)
    assert "500 of 1000 rows" in page and 'aria-valuenow="50"' in page and "refresh" in page
