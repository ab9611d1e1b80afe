"""A small OpenML server on 127.0.0.1 for tests: the REST calls openml-python 0.15.1 makes.

It answers, in OpenML's XML formats, `task/<id>`, `data/<id>` (description), `data/features/<id>`,
`data/qualities/<id>`, the ARFF download named in the description (with its MD5 checksum) and the
parquet file named by `oml:parquet_url`, which the client fetches with a MinIO (S3) client: a HEAD
for the object's stat, then a GET. Data sets are built from real bundled data.

Faults to inject: HTTP 500 for the next N matching requests (or for all), truncated data files,
answers that stall longer than the client's timeout. Every request is recorded.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import arff
import pandas as pd
import pytest
from sklearn import datasets as sk_datasets

NS = 'xmlns:oml="http://openml.org/openml"'
API = "/api/v1/xml"
SUPERVISED_CLASSIFICATION = (1, "Supervised Classification")
SUPERVISED_REGRESSION = (2, "Supervised Regression")


@dataclass
class FakeDataset:
    """A data set as OpenML stores it: a frame (features and target), nominal columns typed."""

    dataset_id: int
    name: str
    frame: pd.DataFrame
    target: str

    def nominal(self) -> dict[str, list[str]]:
        return {
            str(c): [str(v) for v in self.frame[c].cat.categories]
            for c in self.frame.columns
            if isinstance(self.frame[c].dtype, pd.CategoricalDtype)
        }

    def arff_text(self) -> str:
        nominal = self.nominal()
        attributes = [(str(c), nominal.get(str(c), "REAL")) for c in self.frame.columns]
        names = [str(c) for c in self.frame.columns]
        rows = [
            [
                None if pd.isna(v) else (str(v) if n in nominal else float(v))
                for n, v in zip(names, r, strict=True)
            ]
            for r in self.frame.itertuples(index=False)
        ]
        return arff.dumps({"relation": self.name, "attributes": attributes, "data": rows})

    def parquet_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.frame.to_parquet(buffer, index=False)
        return buffer.getvalue()


@dataclass
class FakeTask:
    task_id: int
    dataset_id: int
    task_type: tuple[int, str] = SUPERVISED_CLASSIFICATION


def iris(dataset_id: int = 61) -> FakeDataset:
    bunch = sk_datasets.load_iris(as_frame=True)
    frame = bunch.data.copy()
    labels = [f"Iris-{n}" for n in bunch.target_names]
    frame["class"] = pd.Categorical.from_codes(bunch.target, labels)
    return FakeDataset(dataset_id, "iris", frame, "class")


def penguins(dataset_id: int = 42585) -> FakeDataset:
    """Nominal features (island, sex) and missing values."""
    from palmerpenguins import load_penguins

    frame = load_penguins()
    for column in ("island", "sex", "species"):
        frame[column] = frame[column].astype("category")
    frame = frame.astype({c: "float64" for c in frame.columns if frame[c].dtype.kind in "if"})
    return FakeDataset(dataset_id, "penguins", frame, "species")


def diabetes(dataset_id: int = 9037) -> FakeDataset:
    """A numeric target: served as a regression task."""
    bunch = sk_datasets.load_diabetes(as_frame=True, scaled=False)
    frame = bunch.data.copy()
    frame["progression"] = bunch.target.astype("float64")
    return FakeDataset(dataset_id, "diabetes", frame, "progression")


@dataclass
class Faults:
    error_times: int = 0
    """Answer HTTP 500 (a plain page, as a proxy would) to this many matching requests; -1: all."""
    error_match: str = ""
    truncate_times: int = 0
    """Cut this many data file answers (ARFF or parquet) to half; -1: all."""
    stall_seconds: float = 0.0
    """Wait this long before answering any request."""


@dataclass
class FakeOpenMLServer:
    serve_parquet: bool = True
    datasets: dict[int, FakeDataset] = field(default_factory=dict)
    tasks: dict[int, FakeTask] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._cache: dict[tuple[int, str], bytes] = {}

    # -- set-up -----------------------------------------------------------------------------
    def add_task(
        self,
        task_id: int,
        dataset: FakeDataset,
        task_type: tuple[int, str] = SUPERVISED_CLASSIFICATION,
    ) -> None:
        self.datasets[dataset.dataset_id] = dataset
        self.tasks[task_id] = FakeTask(task_id, dataset.dataset_id, task_type)

    @property
    def origin(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The value for OPENML_SERVER."""
        return self.origin + API

    def start(self) -> FakeOpenMLServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def count(self, fragment: str = "") -> int:
        with self._lock:
            return sum(fragment in line for line in self.requests)

    # -- content ----------------------------------------------------------------------------
    def data_file(self, dataset: FakeDataset, kind: str) -> bytes:
        key = (dataset.dataset_id, kind)
        if key not in self._cache:
            content = (
                dataset.arff_text().encode("utf-8") if kind == "arff" else dataset.parquet_bytes()
            )
            self._cache[key] = content
        return self._cache[key]

    def arff_url(self, dataset: FakeDataset) -> str:
        return f"{self.origin}/data/v1/download/{dataset.dataset_id}/{dataset.name}.arff"

    def parquet_url(self, dataset: FakeDataset) -> str:
        return f"{self.origin}/datasets/{dataset.dataset_id:04d}/dataset_{dataset.dataset_id}.pq"

    def task_xml(self, task: FakeTask) -> str:
        dataset = self.datasets[task.dataset_id]
        type_id, type_name = task.task_type
        splits = f"{self.origin}/api_splits/get/{task.task_id}/Task_{task.task_id}_splits.arff"
        return f"""<oml:task {NS}>
  <oml:task_id>{task.task_id}</oml:task_id>
  <oml:task_name>Task {task.task_id}: {escape(dataset.name)} ({type_name})</oml:task_name>
  <oml:task_type_id>{type_id}</oml:task_type_id>
  <oml:task_type>{type_name}</oml:task_type>
  <oml:input name="source_data">
    <oml:data_set>
      <oml:data_set_id>{dataset.dataset_id}</oml:data_set_id>
      <oml:target_feature>{escape(dataset.target)}</oml:target_feature>
    </oml:data_set>
  </oml:input>
  <oml:input name="estimation_procedure">
    <oml:estimation_procedure>
      <oml:id>1</oml:id>
      <oml:type>crossvalidation</oml:type>
      <oml:data_splits_url>{splits}</oml:data_splits_url>
      <oml:parameter name="number_repeats">1</oml:parameter>
      <oml:parameter name="number_folds">10</oml:parameter>
      <oml:parameter name="percentage"></oml:parameter>
      <oml:parameter name="stratified_sampling">true</oml:parameter>
    </oml:estimation_procedure>
  </oml:input>
  <oml:input name="evaluation_measures">
    <oml:evaluation_measures>
      <oml:evaluation_measure>predictive_accuracy</oml:evaluation_measure>
    </oml:evaluation_measures>
  </oml:input>
</oml:task>
"""

    def description_xml(self, dataset: FakeDataset) -> str:
        md5 = hashlib.md5(self.data_file(dataset, "arff")).hexdigest()  # noqa: S324
        parquet = (
            f"<oml:parquet_url>{self.parquet_url(dataset)}</oml:parquet_url>"
            if self.serve_parquet
            else ""
        )
        return f"""<oml:data_set_description {NS}>
  <oml:id>{dataset.dataset_id}</oml:id>
  <oml:name>{escape(dataset.name)}</oml:name>
  <oml:version>1</oml:version>
  <oml:description>{escape(dataset.name)}, served by the test server.</oml:description>
  <oml:format>ARFF</oml:format>
  <oml:upload_date>2014-04-06T23:23:39</oml:upload_date>
  <oml:licence>Public</oml:licence>
  <oml:url>{self.arff_url(dataset)}</oml:url>
  {parquet}
  <oml:file_id>{dataset.dataset_id}</oml:file_id>
  <oml:default_target_attribute>{escape(dataset.target)}</oml:default_target_attribute>
  <oml:visibility>public</oml:visibility>
  <oml:status>active</oml:status>
  <oml:processing_date>2020-11-20 19:02:18</oml:processing_date>
  <oml:md5_checksum>{md5}</oml:md5_checksum>
</oml:data_set_description>
"""

    def features_xml(self, dataset: FakeDataset) -> str:
        nominal = dataset.nominal()
        parts = []
        for index, column in enumerate(dataset.frame.columns):
            name = str(column)
            values = "".join(
                f"<oml:nominal_value>{escape(v)}</oml:nominal_value>" for v in nominal.get(name, [])
            )
            parts.append(
                f"""  <oml:feature>
    <oml:index>{index}</oml:index>
    <oml:name>{escape(name)}</oml:name>
    <oml:data_type>{"nominal" if name in nominal else "numeric"}</oml:data_type>
    {values}
    <oml:is_target>{str(name == dataset.target).lower()}</oml:is_target>
    <oml:is_ignore>false</oml:is_ignore>
    <oml:is_row_identifier>false</oml:is_row_identifier>
    <oml:number_of_missing_values>{int(dataset.frame[column].isna().sum())}</oml:number_of_missing_values>
  </oml:feature>"""
            )
        return f"<oml:data_features {NS}>\n" + "\n".join(parts) + "\n</oml:data_features>\n"

    def qualities_xml(self, dataset: FakeDataset) -> str:
        frame = dataset.frame
        counts = frame[dataset.target].value_counts()
        qualities = {
            "NumberOfInstances": len(frame),
            "NumberOfFeatures": frame.shape[1],
            "NumberOfClasses": len(counts) if dataset.target in dataset.nominal() else 0,
            "NumberOfMissingValues": int(frame.isna().sum().sum()),
            "NumberOfInstancesWithMissingValues": int(frame.isna().any(axis=1).sum()),
            "MajorityClassSize": int(counts.max()),
            "MinorityClassSize": int(counts.min()),
        }
        body = "".join(
            f"<oml:quality><oml:name>{k}</oml:name><oml:value>{float(v)}</oml:value></oml:quality>"
            for k, v in qualities.items()
        )
        return f"<oml:data_qualities {NS}>{body}</oml:data_qualities>\n"

    # -- faults -----------------------------------------------------------------------------
    def take_error(self, path: str) -> bool:
        with self._lock:
            faults = self.faults
            if faults.error_times == 0 or faults.error_match not in path:
                return False
            if faults.error_times > 0:
                faults.error_times -= 1
            return True

    def take_truncation(self) -> bool:
        with self._lock:
            if self.faults.truncate_times == 0:
                return False
            if self.faults.truncate_times > 0:
                self.faults.truncate_times -= 1
            return True


def _error_xml(code: int, message: str) -> str:
    return (
        f"<oml:error {NS}><oml:code>{code}</oml:code>"
        f"<oml:message>{escape(message)}</oml:message></oml:error>\n"
    )


def _handler_for(server: FakeOpenMLServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str, head: bool = False) -> None:
            headers = {"Content-Type": content_type}
            if not head and "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _xml(self, status: int, text: str) -> None:
            self._send(status, text.encode("utf-8"), "text/xml; charset=utf-8")

        def _file(self, content: bytes, content_type: str, head: bool) -> None:
            if head:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.send_header("ETag", f'"{hashlib.md5(content).hexdigest()}"')  # noqa: S324
                self.send_header("Last-Modified", formatdate(usegmt=True))
                self.end_headers()
                return
            if server.take_truncation():
                content = content[: len(content) // 2]
            self._send(200, content, content_type)

        def do_HEAD(self) -> None:  # noqa: N802
            self._route(head=True)

        def do_GET(self) -> None:  # noqa: N802
            self._route(head=False)

        def _route(self, head: bool) -> None:
            path = self.path.split("?", 1)[0]
            with server._lock:
                server.requests.append(f"{self.command} {self.path}")
            if server.faults.stall_seconds and server._stopping.wait(server.faults.stall_seconds):
                return
            if server.take_error(path):
                self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
                return
            if m := re.fullmatch(rf"{API}/task/(\d+)", path):
                task = server.tasks.get(int(m[1]))
                if task is None:
                    self._xml(412, _error_xml(151, "Unknown task"))
                else:
                    self._xml(200, server.task_xml(task))
            elif m := re.fullmatch(rf"{API}/data/(features|qualities)/(\d+)", path):
                dataset = server.datasets.get(int(m[2]))
                if dataset is None:
                    self._xml(
                        412, _error_xml(271 if m[1] == "features" else 361, "Unknown dataset")
                    )
                elif m[1] == "features":
                    self._xml(200, server.features_xml(dataset))
                else:
                    self._xml(200, server.qualities_xml(dataset))
            elif m := re.fullmatch(rf"{API}/data/(\d+)", path):
                dataset = server.datasets.get(int(m[1]))
                if dataset is None:
                    self._xml(412, _error_xml(111, "Unknown dataset"))
                else:
                    self._xml(200, server.description_xml(dataset))
            elif m := re.fullmatch(r"/data/v1/download/(\d+)/[^/]+\.arff", path):
                dataset = server.datasets[int(m[1])]
                self._file(server.data_file(dataset, "arff"), "text/plain; charset=utf-8", head)
            elif (m := re.fullmatch(r"/datasets/\d+/dataset_(\d+)\.pq", path)) and (
                server.serve_parquet
            ):
                dataset = server.datasets[int(m[1])]
                self._file(server.data_file(dataset, "parquet"), "application/octet-stream", head)
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


def closed_port_url() -> str:
    """An OPENML_SERVER on 127.0.0.1 where nothing listens: the machine is offline."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{API}"


@contextmanager
def running_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenMLServer]:
    """For a fixture: the server with iris (task 59), penguins (31, in CC18), a regression task.

    OPENML_* point at it and at a fresh cache; 3 attempts, human policy, 2 s timeout.
    """
    server = FakeOpenMLServer().start()
    server.add_task(59, iris())
    server.add_task(31, penguins())
    server.add_task(2280, diabetes(), SUPERVISED_REGRESSION)
    monkeypatch.setenv("OPENML_SERVER", server.url)
    monkeypatch.setenv("OPENML_CACHE_DIR", str(tmp_path / "openml_cache"))
    monkeypatch.setenv("OPENML_N_RETRIES", "3")
    monkeypatch.setenv("OPENML_RETRY_POLICY", "human")
    monkeypatch.setenv("OPENML_TIMEOUT", "2")
    monkeypatch.delenv("OPENML_APIKEY", raising=False)
    try:
        yield server
    finally:
        server.stop()
