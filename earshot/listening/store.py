"""The listening-test database: SQLAlchemy 2 models and a small store around an engine.

SQLite (one file, the default) or PostgreSQL (``postgresql+psycopg://user@host:port/db``).
Every request runs in one transaction (`Store.transaction`). On SQLite a transaction starts
with ``BEGIN IMMEDIATE`` (WAL journal), so concurrent writers queue instead of failing; on
PostgreSQL the participant row is locked (``SELECT ... FOR UPDATE``) so one participant's
requests are serialised while different participants proceed in parallel.

An answer is stored at most once: ``answers.trial_id`` is unique, and so is
``(participant_id, idempotency_key)``; a retried POST finds its own answer and gets the same
reply back.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint,
                        create_engine, event, func, select)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from earshot.errors import ConfigError


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class ExperimentRow(Base):
    """An experiment known to the database (its YAML, as parsed, is kept for the record)."""

    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(1024))
    root: Mapped[str] = mapped_column(String(1024))  # stimulus folder: file keys are relative to it
    config: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Participant(Base):
    """An anonymous participant: known only by the sha256 of their session token."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|done|screened_out
    position: Mapped[int] = mapped_column(Integer, default=0)  # index of the current trial
    n_planned: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    catch_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SequenceRow(Base):
    """One JND sequence presented to one participant, with its adaptive staircase state."""

    __tablename__ = "sequences"
    __table_args__ = (UniqueConstraint("participant_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    position: Mapped[int] = mapped_column(Integer)
    n_trials: Mapped[int] = mapped_column(Integer)
    n_done: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict] = mapped_column(JSON)
    checks_failed: Mapped[bool] = mapped_column(Boolean, default=False)


class Trial(Base):
    """One trial. ``payload`` is server-only (files, hidden mapping); ``public_id`` is what URLs use."""

    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("participant_id", "index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16))  # volume|headphone|pretest|warmup|main
    kind: Mapped[str] = mapped_column(String(16))  # volume|headphone|jnd|ab|mushra
    sequence_id: Mapped[int | None] = mapped_column(ForeignKey("sequences.id"), nullable=True)
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Answer(Base):
    """A participant's answer to one trial, stored once."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("participant_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict] = mapped_column(JSON)  # derived: correctness, conditions chosen, ...
    replays: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def hash_token(token: str) -> str:
    """The sha256 hex digest under which a participant token is stored (never the token itself)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def database_url(db: str) -> str:
    """A SQLAlchemy URL from a URL or a path to a SQLite file."""
    if "://" in db:
        try:
            url = make_url(db)
        except ArgumentError as exc:
            raise ConfigError(f"database URL {db!r} is malformed: {exc}") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ConfigError(f"database {db!r}: only sqlite and postgresql are supported")
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{Path(db).expanduser().resolve()}"


class Store:
    """An engine plus helpers. ``Store("results.db")`` or ``Store("postgresql+psycopg://...")``."""

    def __init__(self, db: str, *, create: bool = True, pool_size: int = 10):
        self.url = database_url(db)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            if not create and not Path(make_url(self.url).database or "").exists():
                raise ConfigError(f"database file {make_url(self.url).database} does not exist")
            self.engine = create_engine(self.url, connect_args={"timeout": 60, "check_same_thread": False},
                                        pool_size=pool_size, max_overflow=2 * pool_size)
            _sqlite_pragmas(self.engine)
        else:
            self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=2 * pool_size,
                                        pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            Base.metadata.create_all(self.engine)

    @contextlib.contextmanager
    def transaction(self):
        """A session in one transaction: committed on success, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def experiment(self, session: Session, name: str) -> ExperimentRow | None:
        return session.scalar(select(ExperimentRow).where(ExperimentRow.name == name))

    def upsert_experiment(self, exp) -> int:
        """Record (or update) an `Experiment`; returns its row id."""
        config = {k: v for k, v in exp.raw.items()}
        with self.transaction() as s:
            row = self.experiment(s, exp.name)
            if row is None:
                row = ExperimentRow(name=exp.name, type=exp.type, path=str(exp.path),
                                    root=str(exp.root), config=config)
                s.add(row)
            elif row.type != exp.type:
                raise ConfigError(f"the database already holds experiment {exp.name!r} of type "
                                  f"{row.type}; pick another name for a {exp.type} experiment")
            else:
                row.path, row.root, row.config = str(exp.path), str(exp.root), config
            s.flush()
            return row.id

    def experiments(self) -> list[ExperimentRow]:
        with self.transaction() as s:
            return list(s.scalars(select(ExperimentRow).order_by(ExperimentRow.id)))

    def counts(self, name: str) -> dict:
        """Participants by status, flagged participants, answers stored, distinct trials answered."""
        with self.transaction() as s:
            row = self.experiment(s, name)
            if row is None:
                raise ConfigError(f"no experiment {name!r} in {self.safe_url}")
            status = dict(s.execute(select(Participant.status, func.count()).where(
                Participant.experiment_id == row.id).group_by(Participant.status)).all())
            flagged = s.scalar(select(func.count()).select_from(Participant).where(
                Participant.experiment_id == row.id, Participant.flagged))
            joined = (select(Answer.id, Answer.trial_id).join(Participant)
                      .where(Participant.experiment_id == row.id).subquery())
            answers = s.scalar(select(func.count()).select_from(joined))
            distinct = s.scalar(select(func.count(func.distinct(joined.c.trial_id))))
        return {"participants": status, "flagged": flagged or 0, "answers": answers or 0,
                "distinct_trials": distinct or 0}

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL journal, a busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
