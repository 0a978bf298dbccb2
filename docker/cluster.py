"""A throwaway multi-process Airflow deployment on one machine, started and torn down in one go.

    python -m docker.cluster up      # or: make airflow-cluster; Ctrl-C tears everything down
    python -m docker.cluster down    # stops what a killed `up` left behind

What runs, each in its own process group, all bound to 127.0.0.1 under one temporary folder:

* PostgreSQL 15 (the Debian server binaries) as Airflow's metadata database and Celery's result
  backend; Redis 7 (``redis-server``) as the Celery broker;
* a moto server for S3 and SQS: the landing store and the lake in one bucket, whose ``landing/``
  object-created notifications go to an SQS queue the DAGs' watcher reads;
* ``airflow db migrate``, then the API server, scheduler, DAG processor, triggerer and two Celery
  workers (CeleryExecutor), each worker under its own hostname.

Everything they must agree on (the database, broker, fernet key, JWT secret, S3 endpoint,
``SENTRA_*``) is one environment; secrets are generated per cluster. The same topology for real
hosts is ``docker/compose.yaml``. Only the standard library is imported at module level: workers
import :func:`worker_hostname` from here in every task process.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

PROJECT = Path(__file__).resolve().parents[1]
DAGS = PROJECT / "dags"
T = TypeVar("T")

POSTGRES_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"))
# The variable a worker's task processes read their hostname from (see worker_hostname).
WORKER_NAME_VARIABLE = "SENTRA_CLUSTER_WORKER"
WORKER_HOSTNAME_CALLABLE = "docker.cluster.worker_hostname"
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
WORKER_PRELOAD = "pipelines.quality.worker_preload"
BUCKET = "sentra"
LANDING_PREFIX = "landing"
# moto accepts any credentials; these never leave 127.0.0.1.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
STATE_FILE = Path(tempfile.gettempdir()) / "sentra-cluster.json"
# The components Airflow's health endpoint reports on; all must be healthy before use.
HEALTH_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


class ClusterError(RuntimeError):
    """The cluster could not be started; the message says what is missing or what failed."""


def worker_hostname() -> str:
    """The hostname a task instance records (``[core] hostname_callable`` on the workers).

    Two workers on one machine share its hostname; each gets its own name so the task instances
    show which worker ran them, as separate hosts would.
    """
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def airflow_env(home: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """An Airflow environment on 127.0.0.1:``port`` with this project's DAGs and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SENTRA_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # Watchers only run for unpaused DAGs.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            # The triggerer and tasks import the DAGs' helper modules; workers import this one.
            "PYTHONPATH": os.pathsep.join([str(DAGS), str(PROJECT)]),
            # Components start further `airflow ...` commands: the venv's must come first.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            **extra,
        }
    )
    return env


def healthy(url: str) -> bool:
    """Airflow's health endpoint reports the database and every long-running component healthy."""
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as response:
            status = json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False
    return all((status.get(part) or {}).get("status") == "healthy" for part in HEALTH_COMPONENTS)


def wait_for(what: str, check: Callable[[], T], timeout: float, context: Callable[[], str]) -> T:
    """Poll ``check`` until it returns something truthy; on timeout, fail showing ``context()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}:\n{context()}")


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM, grace: float = 30) -> None:
    """Stop a process started with its own session, and everything it started (its group)."""
    stop_all([process], signum, grace)


def stop_all(
    processes: list[subprocess.Popen[bytes]], signum: int = signal.SIGTERM, grace: float = 30
) -> None:
    """Signal every process group at once, then wait; whatever outlives ``grace`` is killed."""
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start(
    argv: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """One service in its own session (process group), its output in ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=user,
        )


def tail(log: Path, lines: int = 60) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({log} was not written)"
    return f"--- {log.name} ---\n" + "\n".join(text[-lines:])


def started(
    name: str,
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    log: Path,
    timeout: float,
) -> None:
    """Wait until ``ready()``; a service that exits meanwhile fails at once with its log."""

    def up() -> bool:
        if process.poll() is not None:
            raise ClusterError(f"{name} exited with {process.returncode}:\n{tail(log)}")
        return ready()

    wait_for(f"{name} to start", up, timeout, lambda: tail(log))


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_moto(log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A moto server (S3, SQS, ...) on a free port of 127.0.0.1; returns its URL and process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], log)
    try:
        started("moto server", process, lambda: answers(f"{url}/moto-api/"), log, 30)
    except BaseException:
        stop(process)
        raise
    return url, process


def notify_queue_of_landed_objects(s3: Any, sqs: Any, bucket: str, prefix: str) -> str:
    """S3 object-created notifications under ``prefix/`` into a new SQS queue; its URL.

    Saving the configuration makes S3 (and moto) send an ``s3:TestEvent`` message first.
    """
    queue_url: str = sqs.create_queue(QueueName=f"{bucket}-landing")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": f"{prefix}/"}]}},
                }
            ]
        },
    )
    return queue_url


def aws_env(endpoint: str, root: Path) -> dict[str, str]:
    """AWS_* for moto only: no profile or shared credentials of the machine are ever read."""
    absent = str(root / "no-aws-config")
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": absent,
        "AWS_SHARED_CREDENTIALS_FILE": absent,
        **MOTO_CREDENTIALS,
    }


def postgres_binaries() -> Path:
    """The folder holding PostgreSQL 15's ``initdb`` and ``postgres``."""
    candidates = [*POSTGRES_BIN_DIRS]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise ClusterError(
        "PostgreSQL server binaries (initdb, postgres) not found in "
        f"{', '.join(str(c) for c in candidates)}: install them with "
        "`apt-get install -y postgresql` (.ci/run does)"
    )


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise ClusterError(
            "redis-server not found on PATH: install it with `apt-get install -y redis-server` "
            "(.ci/run does)"
        )
    return found


def service_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, it runs as ``postgres`` (or ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ClusterError("running as root, but neither a `postgres` nor a `nobody` user exists")


def lineage_env() -> dict[str, str]:
    """Where every task's OpenLineage events go (docs/lineage.md): into its log (console), unless
    the caller's own ``AIRFLOW__OPENLINEAGE__*`` settings name a backend, e.g. Marquez."""
    chosen = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__OPENLINEAGE__")}
    return {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "sentra",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "console"}),
        **chosen,
    }


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def admin_password(home: Path) -> str:
    """The password the simple auth manager generated for ``admin`` when the API server started."""
    generated = home / "simple_auth_manager_passwords.json.generated"
    passwords: dict[str, str] = json.loads(generated.read_text())
    return passwords["admin"]


class MetadataQueries:
    """Read-only questions to an Airflow metadata database (parameters written as ``%s``)."""

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def task_timings(self) -> list[tuple[Any, ...]]:
        """(dag, task, map index, queued, start, end, hostname) of every task instance."""
        return self.query(
            "select dag_id, task_id, map_index, queued_dttm, start_date, end_date, hostname "
            "from task_instance order by start_date"
        )

    def watchers_running(self, classpath: str) -> bool:
        """A trigger of this class exists and a triggerer has taken it."""
        rows = self.query(
            "select count(*) from trigger where classpath = %s and triggerer_id is not null",
            classpath,
        )
        return bool(rows and rows[0][0])


@dataclass
class Cluster(MetadataQueries):
    """A running cluster: where it is, its shared environment, its processes."""

    root: Path
    env: dict[str, str]
    url: str
    database_dsn: str
    bucket: str
    queue_url: str
    workers: tuple[str, ...]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def warehouse(self) -> str:
        return self.env["SENTRA_WAREHOUSE"]

    def check_alive(self) -> None:
        """Fail at once, with its log, when a component has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ClusterError(
                    f"{name} exited with {process.returncode}:\n" + tail(self.logs / f"{name}.log")
                )

    def tail(self, lines: int = 40) -> str:
        """The end of every component's log, for a failure message."""
        return "\n".join(tail(log, lines) for log in sorted(self.logs.glob("*.log")))

    def password(self) -> str:
        return admin_password(Path(self.env["AIRFLOW_HOME"]))

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the metadata database in a read-only transaction (nothing here ever writes it)."""
        import psycopg2

        connection = psycopg2.connect(
            self.database_dsn, options="-c default_transaction_read_only=on"
        )
        with closing(connection), connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())

    def shell_env(self) -> str:
        """What a second shell needs to land files in the cluster's bucket (``sentra sample``)."""
        names = [n for n in self.env if n.startswith(("SENTRA_", "AWS_"))]
        return "".join(f"export {name}={self.env[name]!r}\n" for name in sorted(names))


def launch(
    stack: ExitStack,
    processes: dict[str, subprocess.Popen[bytes]],
    name: str,
    argv: list[str],
    log: Path,
    stop_signal: int = signal.SIGTERM,
    **options: Any,
) -> subprocess.Popen[bytes]:
    """``start`` a service, record it in ``processes`` and stop it when ``stack`` closes."""
    process = start(argv, log, **options)
    processes[name] = process
    stack.callback(stop, process, stop_signal)
    return process


def start_postgres(
    stack: ExitStack, root: Path, logs: Path, processes: dict[str, subprocess.Popen[bytes]]
) -> str:
    """A throwaway PostgreSQL on 127.0.0.1 (TCP only); returns the ``airflow`` database's DSN."""
    import psycopg2

    binaries, user = postgres_binaries(), service_user()
    data, password = root / "postgres", secrets.token_urlsafe(24)
    data.mkdir(mode=0o700)
    password_file = root / "postgres-password"
    password_file.write_text(password)
    if user:
        entry = pwd.getpwnam(user)
        for path in (data, password_file):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    initdb = subprocess.run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "airflow",
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        user=user,
        cwd=root,
        capture_output=True,
        text=True,
    )
    password_file.unlink()
    if initdb.returncode != 0:
        raise ClusterError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
    port = free_port()
    log = logs / "postgres.log"
    # SIGINT is PostgreSQL's fast shutdown: it closes connections instead of waiting for them.
    process = launch(
        stack,
        processes,
        "postgres",
        [
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            # No Unix socket (nothing outside this cluster connects); durability is pointless for
            # a database deleted at teardown, and costs seconds per migration on a slow disk.
            "-c",
            "unix_socket_directories=",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        log,
        signal.SIGINT,
        user=user,
        cwd=root,
    )
    admin = f"host=127.0.0.1 port={port} user=airflow password={password} dbname=postgres"

    def accepts_connections() -> bool:
        try:
            psycopg2.connect(admin, connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    started("PostgreSQL", process, accepts_connections, log, 60)
    connection = psycopg2.connect(admin)
    with closing(connection):
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE airflow")
    return f"host=127.0.0.1 port={port} user=airflow password={password} dbname=airflow"


def start_redis(
    stack: ExitStack, root: Path, logs: Path, processes: dict[str, subprocess.Popen[bytes]]
) -> str:
    """A throwaway Redis on 127.0.0.1 with a password and no persistence; returns its URL."""
    import redis

    port, password = free_port(), secrets.token_urlsafe(24)
    folder = root / "redis"
    folder.mkdir()
    log = logs / "redis.log"
    config = folder / "redis.conf"
    # In a file rather than on the command line, so the password is not in `ps` output.
    config.write_text(
        f"bind 127.0.0.1\nport {port}\nrequirepass {password}\ndir {folder}\n"
        'save ""\nappendonly no\nprotected-mode yes\n'
    )
    config.chmod(0o600)
    process = launch(stack, processes, "redis", [redis_binary(), str(config)], log)
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=2)

    def pong() -> bool:
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False

    started("Redis", process, pong, log, 30)
    client.close()
    return f"redis://:{password}@127.0.0.1:{port}/0"


def start_s3(
    stack: ExitStack, root: Path, logs: Path, processes: dict[str, subprocess.Popen[bytes]]
) -> tuple[dict[str, str], str]:
    """moto with the bucket and its landing notifications; returns AWS_* and the queue URL."""
    import boto3

    endpoint, process = start_moto(logs / "moto.log")
    processes["moto"] = process
    stack.callback(stop, process)
    aws = aws_env(endpoint, root)
    session = boto3.session.Session(
        aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
        region_name=aws["AWS_DEFAULT_REGION"],
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    return aws, notify_queue_of_landed_objects(s3, sqs, BUCKET, LANDING_PREFIX)


def sqlalchemy_url(dsn: str, scheme: str) -> str:
    parts = dict(item.split("=", 1) for item in dsn.split())
    return (
        f"{scheme}://{parts['user']}:{parts['password']}@{parts['host']}:{parts['port']}/"
        f"{parts['dbname']}"
    )


@contextmanager
def running_cluster(
    warehouse: str | None = None,
    workers: int = 2,
    concurrency: int = 2,
    sentra: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """Start everything, wait until it is healthy, yield it; stop every process group after.

    Everything lives in a new temporary folder, removed at teardown; ``warehouse`` is where the
    marts are published (default: the bucket's ``warehouse/`` prefix, so any worker can build
    and any BI host fetch them; ``sentra fetch-marts``).
    ``sentra``: more ``SENTRA_*`` settings (e.g. ``SENTRA_AS_OF``) for every component.
    """
    # Directly under the system temp folder: when we are root, PostgreSQL runs as another user,
    # who must be able to reach its data folder (a pytest tmp_path is private to root).
    base = Path(tempfile.mkdtemp(prefix="sentra-cluster-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, base, ignore_errors=True)
        base.chmod(0o711)
        logs = base / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        processes: dict[str, subprocess.Popen[bytes]] = {}
        dsn = start_postgres(stack, base, logs, processes)
        broker = start_redis(stack, base, logs, processes)
        aws, queue_url = start_s3(stack, base, logs, processes)
        port = free_port()
        env = airflow_env(
            base / "airflow",
            port,
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(dsn, "postgresql+psycopg2"),
                "AIRFLOW__CELERY__BROKER_URL": broker,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
                + sqlalchemy_url(dsn, "postgresql+psycopg2"),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
                # Workers import GX once before forking task processes (see the module).
                "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps({"imports": [WORKER_PRELOAD]}),
                # Every component encrypts connections and signs task tokens with the same keys.
                "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API__WORKERS": "1",
                **aws,
                "SENTRA_LANDING": f"s3://{BUCKET}/{LANDING_PREFIX}",
                "SENTRA_LAKE": f"s3://{BUCKET}/lake",
                "SENTRA_WAREHOUSE": warehouse or f"s3://{BUCKET}/warehouse",
                "SENTRA_EVENT_SOURCE": "sqs",
                "SENTRA_SQS_QUEUE_URL": queue_url,
                # A secret like the others: the public demo salt is refused outside the demo.
                "SENTRA_PII_SALT": secrets.token_hex(32),
                **(sentra or {}),
                **lineage_env(),
            },
        )
        cluster = Cluster(
            root=base,
            env=env,
            url=f"http://127.0.0.1:{port}",
            database_dsn=dsn,
            bucket=BUCKET,
            queue_url=queue_url,
            workers=tuple(f"worker-{n}" for n in range(1, workers + 1)),
            processes=processes,
        )
        start_airflow(stack, cluster)
        yield cluster


def start_airflow(stack: ExitStack, cluster: Cluster) -> None:
    """Migrate, then every component as its own process group; wait until all are healthy."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    home = Path(cluster.env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    migrate = subprocess.run(
        [airflow, "db", "migrate"], env=cluster.env, cwd=home, capture_output=True, text=True
    )
    if migrate.returncode != 0:
        raise ClusterError(f"airflow db migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
    # Workers and the triggerer would each serve their logs over HTTP on a fixed port; on one
    # machine they share the log folder, which the API server reads directly.
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "api-server": (["api-server"], {}),
        "scheduler": (["scheduler"], {}),
        "dag-processor": (["dag-processor"], {}),
        "triggerer": (["triggerer", "--skip-serve-logs"], {}),
    }
    for name in cluster.workers:
        commands[name] = (
            [
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@%h",
                "--skip-serve-logs",
                "--without-gossip",
                "--without-mingle",
            ],
            {
                WORKER_NAME_VARIABLE: name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": WORKER_HOSTNAME_CALLABLE,
            },
        )
    components = []
    for name, (arguments, extra) in commands.items():
        log = cluster.logs / f"{name}.log"
        process = start([airflow, *arguments], log, env={**cluster.env, **extra}, cwd=home)
        cluster.processes[name] = process
        components.append(process)
    # Stopped together: one by one, each would wait for the others' connections to drop.
    stack.callback(stop_all, components)

    def all_up() -> bool:
        cluster.check_alive()
        return healthy(cluster.url)

    wait_for("Airflow to be healthy", all_up, 300, cluster.tail)
    # Workers do not report to the health endpoint: ask them through the broker.
    wait_for("the Celery workers to answer", lambda: workers_answer(cluster), 120, cluster.tail)


def workers_answer(cluster: Cluster) -> bool:
    cluster.check_alive()
    ping = subprocess.run(
        [sys.executable, "-m", "celery", "--app", CELERY_APP, "inspect", "ping", "--timeout", "5"],
        env=cluster.env,
        capture_output=True,
        text=True,
    )
    return all(f"{name}@" in ping.stdout for name in cluster.workers)


# -- command line -------------------------------------------------------------------------------


def up(arguments: argparse.Namespace) -> None:
    if STATE_FILE.exists():
        raise ClusterError(
            f"{STATE_FILE} says a cluster is running; stop it with `python -m docker.cluster "
            "down` (or delete the file if it is stale)"
        )
    stopping = {"signal": 0}

    def request_stop(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    signal.signal(signal.SIGTERM, request_stop)
    warehouse = arguments.warehouse
    with running_cluster(warehouse=warehouse, workers=arguments.workers) as cluster:
        groups = [process.pid for process in cluster.processes.values()]
        STATE_FILE.write_text(json.dumps({"root": str(cluster.root), "process_groups": groups}))
        env_file = cluster.root / "cluster.env"
        env_file.write_text(cluster.shell_env())
        env_file.chmod(0o600)
        print(
            f"Airflow cluster up: {cluster.url} (admin / {cluster.password()}), "
            f"workers {', '.join(cluster.workers)}\n"
            f"landing s3://{cluster.bucket}/{LANDING_PREFIX}/ (notifications -> "
            f"{cluster.queue_url}), marts {cluster.warehouse}\n"
            f"logs in {cluster.logs}\n"
            f"In another shell: set -a; . {env_file}; set +a; .tools/bin/uv run sentra sample\n"
            "Ctrl-C stops everything and removes the temporary folder.",
            flush=True,
        )
        try:
            while not stopping["signal"]:
                cluster.check_alive()
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            # A second Ctrl-C (a terminal signals every process of the command) must not cut the
            # teardown short and leave process groups behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("stopping the cluster ...", flush=True)
    STATE_FILE.unlink(missing_ok=True)
    print("stopped; temporary folder removed", flush=True)


def down(_arguments: argparse.Namespace) -> None:
    """Stop what a killed ``up`` left running: its process groups, then its folder."""
    if not STATE_FILE.exists():
        print("no cluster is recorded as running")
        return
    state = json.loads(STATE_FILE.read_text())
    for group in state["process_groups"]:
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    shutil.rmtree(state["root"], ignore_errors=True)
    STATE_FILE.unlink()
    print(f"stopped; removed {state['root']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m docker.cluster", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start_command = commands.add_parser("up", help="start the cluster; Ctrl-C stops it")
    start_command.add_argument("--workers", type=int, default=2, help="Celery workers (2)")
    start_command.add_argument(
        "--warehouse",
        help="where the marts are published: s3://... or a local file (default: the bucket's "
        "warehouse/ prefix)",
    )
    start_command.set_defaults(run=up)
    commands.add_parser("down", help="stop what a killed `up` left behind").set_defaults(run=down)
    arguments = parser.parse_args(argv)
    try:
        arguments.run(arguments)
    except ClusterError as error:
        sys.exit(f"cluster: {error}")


if __name__ == "__main__":
    main()
