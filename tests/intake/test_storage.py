"""Evidence storage: the content decides, files land only after the commit, keys never escape the root."""

import io
import os
import time

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework import storage
from casework.intake import keys, staging
from casework.models import Case
from tests.intake.conftest import HTML, JPEG, PDF, PNG

WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [
        (PNG, "a.png", "image/png"),
        (JPEG, "a.JPG", "image/jpeg"),
        (WEBP, "a.webp", "image/webp"),
        (PDF, "a.pdf", "application/pdf"),
        (b"plain words\n", "a.txt", "text/plain"),
        ("\ufeffwith a byte-order mark".encode(), "a.txt", "text/plain"),
        ("utf-16 text".encode("utf-16"), "a.txt", "text/plain"),
        (PNG, "a.jpeg", "image/png"),
    ],
)
def test_files_are_kept_as_what_their_content_shows(app, content, name, media_type):
    with app.app_context():
        stored = storage.save(io.BytesIO(content), name)
        assert stored.media_type == media_type and stored.size == len(content)
        assert storage.path_for(stored.key).read_bytes() == content
        assert storage.sha256_of(stored.key) == stored.sha256
        storage.delete(stored.key)
        assert not storage.path_for(stored.key).exists()


@pytest.mark.parametrize(
    ("content", "name"),
    [(HTML, "x.png"), (HTML, "x.pdf"), (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.txt"), (PDF, "x.html"),
     (PNG, "x"), (b"", "x.txt"), (b"GIF89a....", "x.gif")],
)  # fmt: skip
def test_refused_files_leave_nothing_behind(app, content, name):
    with app.app_context():
        before = set((storage.storage_root()).rglob("*"))
        with pytest.raises(storage.FileRefused):
            storage.save(io.BytesIO(content), name)
        after = {p for p in storage.storage_root().rglob("*") if p.is_file()}
        assert after <= before


@pytest.mark.parametrize("key", ["../../etc/passwd", "", "A" * 40, "0" * 39, "/" + "0" * 39])
def test_only_our_own_keys_map_to_paths(app, key):
    with app.app_context(), pytest.raises(FileNotFoundError):
        storage.path_for(key)


def test_a_file_saved_in_a_transaction_lands_only_when_it_commits(app, db):
    stored = storage.save(io.BytesIO(PNG), "a.png", session=db.session)
    final = storage.path_for(stored.key)
    assert not final.exists()
    db.session.commit()
    assert final.read_bytes() == PNG


def test_a_file_saved_in_a_transaction_is_removed_when_it_rolls_back(app, db):
    db.session.scalars(select(Case)).all()  # the transaction has begun, as it always has in a service
    stored = storage.save(io.BytesIO(PNG), "a.png", session=db.session)
    temporary = storage.storage_root() / "tmp" / stored.key
    assert temporary.exists()
    db.session.rollback()
    assert not temporary.exists() and not storage.path_for(stored.key).exists()


def test_a_committed_file_is_in_its_place_when_the_commit_returns(app, db):
    """A worker killed right after the commit, before any after-commit hook, must leave the file where its row says."""
    stored = storage.save(io.BytesIO(PNG), "a.png", session=db.session)
    in_place_at_commit = []

    def at_commit(session):
        in_place_at_commit.append(storage.path_for(stored.key).exists())

    event.listen(Session, "after_commit", at_commit, insert=True)  # before every other after-commit hook
    try:
        db.session.commit()
    finally:
        event.remove(Session, "after_commit", at_commit)
    assert in_place_at_commit[:1] == [True]
    assert not list((storage.storage_root() / "tmp").glob(stored.key))


def test_a_file_moved_in_place_is_removed_when_the_commit_fails(app, db):
    stored = storage.save(io.BytesIO(PNG), "a.png", session=db.session)
    db.session.add(Case())  # no reference, no narrative: the flush inside the commit fails
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert not storage.path_for(stored.key).exists()
    assert not (storage.storage_root() / "tmp" / stored.key).exists()


def test_a_failed_submission_leaves_no_case_and_no_file(app, db, monkeypatch):
    from casework.intake import service

    def broken(*args, **kwargs):
        raise RuntimeError("audit trail unavailable")

    staged_dir = storage.storage_root() / "unit"
    staged_dir.mkdir(parents=True, exist_ok=True)
    (staged_dir / "a.png").write_bytes(PNG)
    monkeypatch.setattr(service, "_add_link_evidence", broken)
    report = service.ReportData(
        narrative="Test narrative.",
        links=["https://example.edu/x"],
        files=[service.EvidenceFile("a.png", staged_dir / "a.png")],
    )
    with pytest.raises(RuntimeError):
        service.submit_report(report)
    temporary = list((storage.storage_root() / "tmp").glob("*"))
    db.session.rollback()
    assert db.session.scalars(select(Case)).all() == []
    assert all(not path.exists() for path in temporary)


def test_follow_up_keys_have_80_bits_in_an_easy_form():
    key = keys.generate_key()
    assert len(key) == 19 and all(len(group) == 4 for group in key.split("-"))
    assert set(key.replace("-", "")) <= set(keys.ALPHABET)
    assert len(keys.ALPHABET) ** keys.KEY_LENGTH >= 2**80
    assert len({keys.generate_key() for _ in range(200)}) == 200


def test_keys_are_read_forgivingly_but_never_loosely():
    assert keys.canonical_key("7k3f 92qx-mp4d_8wzt") == "7K3F92QXMP4D8WZT"
    assert keys.canonical_key("OOOO-IIII-LLLL-0000") == "0000111111110000"
    assert keys.canonical_key("7K3F-92QX-MP4D") is None  # too short
    assert keys.canonical_key("UUUU-UUUU-UUUU-UUUU") is None  # not in the alphabet
    assert keys.canonical_key("x" * 1000) is None


def test_a_key_verifies_only_against_its_own_hash(app):
    with app.app_context():
        key = keys.generate_key()
        stored = keys.hash_key(key)
        assert keys.verify_key(stored, key.lower())
        assert not keys.verify_key(stored, keys.generate_key())
        assert not keys.verify_key(keys.dummy_hash(), key)
        assert not keys.verify_key(stored, None)


def test_purge_staging_removes_only_expired_folders(app, runner):
    with app.test_request_context():
        old, fresh = staging.new_token(), staging.new_token()
        from werkzeug.datastructures import FileStorage

        for token in (old, fresh):
            staging.stage(token, FileStorage(io.BytesIO(PNG), filename="a.png"))
        day_ago = time.time() - 25 * 3600
        os.utime(storage.storage_root() / "staging" / old, (day_ago, day_ago))
        assert staging.list_staged(fresh) and len(staging.list_staged(fresh)) == 1
    result = runner.invoke(args=["intake", "purge-staging"])
    assert result.exit_code == 0 and "Removed 1 expired staging folder" in result.output
    with app.test_request_context():
        assert staging.list_staged(old) == [] and len(staging.list_staged(fresh)) == 1
        staging.discard(fresh)


def test_an_expired_staging_folder_is_not_offered_back(app):
    with app.test_request_context():
        from werkzeug.datastructures import FileStorage

        token = staging.new_token()
        staging.stage(token, FileStorage(io.BytesIO(PNG), filename="a.png"))
        day_ago = time.time() - 25 * 3600
        os.utime(storage.storage_root() / "staging" / token, (day_ago, day_ago))
        assert staging.list_staged(token) == []
        assert not (storage.storage_root() / "staging" / token).exists()


def test_sending_a_report_sweeps_away_forms_abandoned_long_ago(app, client, db):
    from tests.intake.conftest import report_form

    with app.test_request_context():
        from werkzeug.datastructures import FileStorage

        abandoned = staging.new_token()
        staging.stage(abandoned, FileStorage(io.BytesIO(PNG), filename="a.png"))
    folder = storage.storage_root() / "staging" / abandoned
    day_ago = time.time() - 25 * 3600
    os.utime(folder, (day_ago, day_ago))
    assert client.post("/report", data=report_form()).status_code == 302
    assert not folder.exists()
